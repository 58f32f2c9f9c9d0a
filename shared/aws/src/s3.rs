//! The file drop on S3: one bucket of the template (encrypted, private, files deleted after a
//! day), staff reaching it through presigned links, jobs reading ranges and writing multipart.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use telmail_core::error::StoreError;
use telmail_core::ports::FileDrop;

use crate::errors::store_error;

/// Big files in an S3 bucket.
#[derive(Clone, Debug)]
pub struct S3Drop {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Drop {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

/// The S3 client: a local endpoint (moto) serves buckets by path, not by host name.
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn presigning(valid: Duration) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(valid)
        .map_err(|e| StoreError::Backend(format!("S3 link of {valid:?}: {e}")))
}

fn part_number(number: u32) -> Result<i32, StoreError> {
    i32::try_from(number).map_err(|_| StoreError::Backend(format!("S3 part {number}")))
}

#[async_trait]
impl FileDrop for S3Drop {
    async fn upload_link(&self, key: &str, valid: Duration) -> Result<String, StoreError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(valid)?)
            .await
            .map_err(|e| store_error("S3 presign PutObject", e))?;
        Ok(request.uri().to_owned())
    }

    async fn download_link(
        &self,
        key: &str,
        file_name: &str,
        valid: Duration,
    ) -> Result<String, StoreError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .response_content_type("text/csv; charset=utf-8")
            .presigned(presigning(valid)?)
            .await
            .map_err(|e| store_error("S3 presign GetObject", e))?;
        Ok(request.uri().to_owned())
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(
                head.content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or_default(),
            )),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(store_error("S3 HeadObject", e)),
        }
    }

    async fn read(&self, key: &str, from: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        // One request: the range asked for (S3 gives what exists of it; a range starting past
        // the end is refused as such, and read as nothing).
        let last = from.saturating_add(len - 1);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={from}-{last}"))
            .send()
            .await;
        let object = match out {
            Ok(object) => object,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(store_error("S3 GetObject", e)),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Backend(format!("S3 GetObject body: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("S3 PutObject", e))
    }

    async fn start_parts(&self, key: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8")
            .send()
            .await
            .map_err(|e| store_error("S3 CreateMultipartUpload", e))?;
        out.upload_id
            .ok_or_else(|| StoreError::Backend("S3 gave no upload id".into()))
    }

    async fn put_part(
        &self,
        key: &str,
        upload: &str,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(part_number(number)?)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| store_error("S3 UploadPart", e))?;
        out.e_tag
            .ok_or_else(|| StoreError::Backend("S3 gave no part tag".into()))
    }

    async fn finish_parts(
        &self,
        key: &str,
        upload: &str,
        tags: &[String],
    ) -> Result<(), StoreError> {
        let mut parts = Vec::with_capacity(tags.len());
        for (i, tag) in tags.iter().enumerate() {
            parts.push(
                CompletedPart::builder()
                    .e_tag(tag)
                    .part_number(part_number(u32::try_from(i + 1).unwrap_or(u32::MAX))?)
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("S3 CompleteMultipartUpload", e))
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("S3 DeleteObject", e))
    }

    async fn close_upload(&self, _key: &str) -> Result<(), StoreError> {
        // A presigned link cannot be revoked; it expires. The job keeps the size it checked.
        Ok(())
    }
}

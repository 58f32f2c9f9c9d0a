//! Which file drop a function has. Only the functions that handle big files link the S3 SDK
//! (the crate's `files` feature: the `files` function, which gives the links, and `fan-out`,
//! which runs the jobs' steps); in the others nothing reaches the drop, and should something
//! try, it is refused with the reason rather than pretending a file was written.

use std::sync::Arc;

use telmail_core::ports::FileDrop;

use crate::backend::Clients;

/// The drop of big files over `bucket`: S3 where the function handles them.
#[cfg(feature = "files")]
pub fn file_drop(clients: &Clients, bucket: &str) -> Arc<dyn FileDrop> {
    Arc::new(crate::s3::S3Drop::new(clients.s3.clone(), bucket))
}

/// The drop of big files: none in a function that does not handle them.
#[cfg(not(feature = "files"))]
pub fn file_drop(_clients: &Clients, _bucket: &str) -> Arc<dyn FileDrop> {
    Arc::new(elsewhere::FilesElsewhere)
}

#[cfg(not(feature = "files"))]
mod elsewhere {
    use std::time::Duration;

    use async_trait::async_trait;
    use telmail_core::error::StoreError;
    use telmail_core::ports::FileDrop;

    /// The file drop of a function built without S3.
    pub struct FilesElsewhere;

    fn refused<T>() -> Result<T, StoreError> {
        Err(StoreError::Backend(
            "big files are handled by the files and fan-out functions; this one has no S3 client"
                .into(),
        ))
    }

    #[async_trait]
    impl FileDrop for FilesElsewhere {
        async fn upload_link(&self, _: &str, _: Duration) -> Result<String, StoreError> {
            refused()
        }
        async fn download_link(&self, _: &str, _: &str, _: Duration) -> Result<String, StoreError> {
            refused()
        }
        async fn size(&self, _: &str) -> Result<Option<u64>, StoreError> {
            refused()
        }
        async fn read(&self, _: &str, _: u64, _: u64) -> Result<Vec<u8>, StoreError> {
            refused()
        }
        async fn put(&self, _: &str, _: Vec<u8>) -> Result<(), StoreError> {
            refused()
        }
        async fn start_parts(&self, _: &str) -> Result<String, StoreError> {
            refused()
        }
        async fn put_part(
            &self,
            _: &str,
            _: &str,
            _: u32,
            _: Vec<u8>,
        ) -> Result<String, StoreError> {
            refused()
        }
        async fn finish_parts(&self, _: &str, _: &str, _: &[String]) -> Result<(), StoreError> {
            refused()
        }
        async fn remove(&self, _: &str) -> Result<(), StoreError> {
            refused()
        }
        async fn close_upload(&self, _: &str) -> Result<(), StoreError> {
            refused()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn a_function_without_s3_refuses_every_file_operation() {
            let drop = FilesElsewhere;
            assert!(drop
                .upload_link("k", Duration::from_secs(60))
                .await
                .is_err());
            assert!(drop.put("k", vec![1]).await.is_err());
            assert!(drop.size("k").await.is_err());
        }
    }
}

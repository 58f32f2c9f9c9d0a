//! Big-file jobs: one item each (`FILEJOB#<id>`, `META`), the job as JSON and its step, saved
//! only from the step read; listed newest first through the index (`gsi1pk = FILEJOBS`). Kept
//! a week (TTL).

use async_trait::async_trait;
use telmail_core::domain::file_job::{FileJob, FileJobId};
use telmail_core::error::StoreError;
use telmail_core::ports::FileJobStore;

use super::items::{self, condition_failed, json, key, n, s, Fields, Item};
use super::keys::{self, EXPIRES, FILE_JOBS, META};
use super::table::TABLE_GSI1;
use super::DynamoStore;
use crate::errors::store_error;

/// How long a job's record is kept.
const KEPT_DAYS: i64 = 7;

fn item(job: &FileJob) -> Result<Item, StoreError> {
    let mut item = key(keys::file_job(job.id), META);
    item.insert("job".into(), json(job)?);
    item.insert("step".into(), n(job.step));
    item.insert("gsi1pk".into(), s(FILE_JOBS));
    item.insert("gsi1sk".into(), s(keys::stamp(job.created_at)));
    item.insert(
        EXPIRES.into(),
        n((job.created_at + chrono::Duration::days(KEPT_DAYS)).timestamp()),
    );
    Ok(item)
}

#[async_trait]
impl FileJobStore for DynamoStore {
    async fn insert_file_job(&self, job: &FileJob) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(job)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DynamoDB PutItem (file job)", e))
    }

    async fn file_job(&self, id: FileJobId) -> Result<Option<FileJob>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::file_job(id), META)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB GetItem (file job)", e))?;
        out.item.map(|i| Fields(&i).json("job")).transpose()
    }

    async fn save_file_job(&self, job: &FileJob, read_step: u32) -> Result<(), StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(job)?))
            .condition_expression("step = :read")
            .expression_attribute_values(":read", n(read_step))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "file job {} moved past step {read_step}",
                job.id
            ))),
            Err(e) => Err(store_error("DynamoDB PutItem (file job)", e)),
        }
    }

    async fn recent_file_jobs(&self, limit: usize) -> Result<Vec<FileJob>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :jobs")
            .expression_attribute_values(":jobs", s(FILE_JOBS))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        items::query(q, limit, |item| Fields(item).json("job").map(Some)).await
    }
}

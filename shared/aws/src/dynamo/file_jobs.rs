//! Big-file jobs: versioned records (`FILEJOB#<id>`; the version is the job's step), listed
//! under `FILEJOBS`, kept a week (TTL).

use async_trait::async_trait;
use chrono::DateTime;
use telmail_core::domain::file_job::{FileJob, FileJobId};
use telmail_core::error::StoreError;
use telmail_core::ports::FileJobStore;

use super::items::n;
use super::keys::{self, EXPIRES, FILE_JOBS};
use super::versioned::{Expect, Record, Versioned};
use super::DynamoStore;

const JOBS: Versioned = Versioned {
    list: FILE_JOBS,
    what: "file job",
};

/// How long a job's record is kept.
const KEPT_DAYS: i64 = 7;

impl DynamoStore {
    async fn put_job(&self, job: &FileJob, expect: Expect) -> Result<(), StoreError> {
        let expires = (job.created_at + chrono::Duration::days(KEPT_DAYS)).timestamp();
        let record = Record {
            partition: keys::file_job(job.id),
            created: job.created_at,
            version: job.step,
            body: job,
            extra: vec![(EXPIRES, n(expires))],
        };
        self.put_versioned(JOBS, record, expect).await
    }
}

#[async_trait]
impl FileJobStore for DynamoStore {
    async fn insert_file_job(&self, job: &FileJob) -> Result<(), StoreError> {
        self.put_job(job, Expect::New).await
    }

    async fn file_job(&self, id: FileJobId) -> Result<Option<FileJob>, StoreError> {
        self.get_versioned(JOBS, keys::file_job(id)).await
    }

    async fn save_file_job(&self, job: &FileJob, read_step: u32) -> Result<(), StoreError> {
        self.put_job(job, Expect::Version(read_step)).await
    }

    async fn recent_file_jobs(&self, limit: usize) -> Result<Vec<FileJob>, StoreError> {
        self.newest_versioned(JOBS, DateTime::UNIX_EPOCH, limit)
            .await
    }
}

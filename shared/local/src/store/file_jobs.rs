//! Big-file jobs: versioned records whose version is the job's step.

use async_trait::async_trait;
use chrono::DateTime;
use telmail_core::domain::file_job::{FileJob, FileJobId};
use telmail_core::error::StoreError;
use telmail_core::ports::FileJobStore;

use super::versioned::Versioned;
use super::SqliteStore;

const JOBS: Versioned = Versioned {
    table: "file_jobs",
    what: "file job",
};

#[async_trait]
impl FileJobStore for SqliteStore {
    async fn insert_file_job(&self, job: &FileJob) -> Result<(), StoreError> {
        self.insert_versioned(JOBS, job.id.to_string(), job.created_at, job.step, job)
            .await
    }

    async fn file_job(&self, id: FileJobId) -> Result<Option<FileJob>, StoreError> {
        self.versioned(JOBS, id.to_string()).await
    }

    async fn save_file_job(&self, job: &FileJob, read_step: u32) -> Result<(), StoreError> {
        self.replace_versioned(JOBS, job.id.to_string(), job.step, job, read_step)
            .await
    }

    async fn recent_file_jobs(&self, limit: usize) -> Result<Vec<FileJob>, StoreError> {
        self.newest_versioned(JOBS, DateTime::UNIX_EPOCH, limit)
            .await
    }
}

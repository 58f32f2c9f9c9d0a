//! Big-file jobs: one row each, the job as JSON and its step, saved only from the step read.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::file_job::{FileJob, FileJobId};
use telmail_core::error::StoreError;
use telmail_core::ports::FileJobStore;

use super::{from_json, to_json, SqliteStore};
use crate::db::{micros, sql_err};

#[async_trait]
impl FileJobStore for SqliteStore {
    async fn insert_file_job(&self, job: &FileJob) -> Result<(), StoreError> {
        let (id, created, step, body) = (
            job.id.to_string(),
            micros(job.created_at),
            job.step,
            to_json(job)?,
        );
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO file_jobs (id, created_at, step, body) VALUES (?1, ?2, ?3, ?4)",
                    params![id, created, step, body],
                )
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn file_job(&self, id: FileJobId) -> Result<Option<FileJob>, StoreError> {
        let id = id.to_string();
        let body: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT body FROM file_jobs WHERE id = ?1")
                    .and_then(|mut st| st.query_row([id], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        body.map(|b| from_json("file job", &b)).transpose()
    }

    async fn save_file_job(&self, job: &FileJob, read_step: u32) -> Result<(), StoreError> {
        let (id, step, body) = (job.id.to_string(), job.step, to_json(job)?);
        let saved = self
            .db
            .write(move |tx| {
                tx.execute(
                    "UPDATE file_jobs SET step = ?2, body = ?3 WHERE id = ?1 AND step = ?4",
                    params![id, step, body, read_step],
                )
                .map_err(sql_err)
            })
            .await?;
        match saved {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "file job {} moved past step {read_step}",
                job.id
            ))),
        }
    }

    async fn recent_file_jobs(&self, limit: usize) -> Result<Vec<FileJob>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let bodies: Vec<String> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached("SELECT body FROM file_jobs ORDER BY created_at DESC LIMIT ?1")
                    .map_err(sql_err)?;
                let rows = st.query_map([limit], |r| r.get(0)).map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        bodies.iter().map(|b| from_json("file job", b)).collect()
    }
}

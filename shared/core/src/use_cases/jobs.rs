//! The queued jobs, each handed to the use case it belongs to: sending's to the dispatcher,
//! the big files' steps to the file jobs. The consumers (the local worker, the `fan-out` and
//! `send` functions) run every job through here, so sending knows nothing of big files.

use std::sync::Arc;

use crate::domain::queue::{Job, JobOutcome};
use crate::error::DomainError;
use crate::use_cases::dispatch::Dispatcher;
use crate::use_cases::file_jobs::FileJobs;

/// Runs any job from either queue.
pub struct Jobs {
    dispatcher: Arc<Dispatcher>,
    file_jobs: Arc<FileJobs>,
}

impl Jobs {
    /// Routes sending jobs to `dispatcher`, file steps to `file_jobs`.
    pub fn new(dispatcher: Arc<Dispatcher>, file_jobs: Arc<FileJobs>) -> Self {
        Self {
            dispatcher,
            file_jobs,
        }
    }

    /// The dispatcher, for consumers that send delivery jobs together.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Runs one job.
    pub async fn run(&self, job: &Job) -> Result<JobOutcome, DomainError> {
        match job {
            Job::Fanout(job) => self.dispatcher.fan_out(job).await,
            Job::Deliver(job) => Ok(self.dispatcher.deliver(std::slice::from_ref(job)).await?[0]),
            Job::File(step) => self.file_jobs.run_step(step).await,
            Job::Notice(job) => Ok(self.dispatcher.send_notice(job).await),
            Job::CallAgain(job) => Ok(self.dispatcher.call_again(job).await),
        }
    }
}

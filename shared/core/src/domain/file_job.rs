//! Big files: an export written, or an import read, step by step through the file drop (S3 on
//! AWS), so a file of a million subscribers never passes through a request or a response.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::staff::StaffIdentity;

/// Refused lines kept in a job's report; past it, only their number.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// A file job's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileJobId(pub Uuid);

impl FileJobId {
    /// A new random identifier.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// The key of the job's file in the drop.
    pub fn file_key(&self) -> String {
        format!("jobs/{}/fichier.csv", self.0)
    }

    /// The key of the memory of the addresses met before step `step` of an import: each step
    /// reads its own and writes the next one's, so a step run again reads what it read the
    /// first time.
    pub fn seen_key(&self, step: u32) -> String {
        format!("jobs/{}/vus-{step}.bin", self.0)
    }
}

impl Default for FileJobId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for FileJobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for FileJobId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// How an import treats bad lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Import only if every line is valid.
    #[default]
    AllOrNothing,
    /// Import the valid lines, report the others.
    ValidOnly,
}

/// The order of an export's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExportOrder {
    /// By sign-up date, oldest first (the default).
    #[default]
    Date,
    /// By contact, as a spreadsheet sorts it: the email address, else the phone as dialled
    /// (subscribers have no name).
    Contact,
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileJobKind {
    /// The whole subscriber file written as CSV.
    Export {
        #[serde(default)]
        order: ExportOrder,
    },
    /// A CSV file of subscribers read in.
    Import {
        mode: ImportMode,
        dry_run: bool,
        /// Update mode: a line whose address or number is already on file adds its topics to
        /// that person's (never removing any, never changing a contact) instead of being
        /// refused.
        #[serde(default)]
        update: bool,
    },
}

/// A line of an import that did something other than create a subscriber (update mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineNote {
    pub line: usize,
    /// In French: « thèmes ajoutés : … », « déjà inscrit à ces thèmes : rien à ajouter ».
    pub message: String,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileJobStatus {
    /// An import waiting for staff to send its file.
    AwaitingFile,
    /// Every line being checked before anything is written (all-or-nothing, dry run).
    Checking,
    /// Lines being written.
    Importing,
    /// Rows being written to the export.
    Exporting,
    /// Finished: the export is ready, or the import's report is final.
    Done,
    /// Stopped on a problem staff can read in `failure`.
    Failed,
}

impl FileJobStatus {
    /// Whether steps still run.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Checking | Self::Importing | Self::Exporting)
    }
}

/// Where an export's writing stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProgress {
    /// The multipart upload under way.
    pub upload: String,
    /// The parts written, in order.
    pub parts: Vec<String>,
    /// Where the next rows start (none: at the beginning).
    pub cursor: Option<String>,
    /// The file had more subscribers than a sorted export holds at once (the setting
    /// `BigFiles::sort_limit`): its rows are in the store's order.
    #[serde(default)]
    pub unsorted: bool,
}

/// An export or import done step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileJob {
    pub id: FileJobId,
    #[serde(flatten)]
    pub kind: FileJobKind,
    /// Who asked for it: the steps act with their rights.
    pub requested_by: StaffIdentity,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: FileJobStatus,
    /// Steps run so far; a step is recorded only once (see [`FileStep`]).
    pub step: u32,
    /// Import: bytes of the file read so far, and its size.
    pub position: u64,
    pub size: u64,
    /// Import: the header line, given again to each part of the file.
    pub header: Option<String>,
    /// Import: physical lines of the file read so far (header and blank lines included).
    pub lines_read: usize,
    /// Import: subscriber lines met (header and blank lines excluded).
    pub lines: usize,
    /// Import: subscribers created.
    pub imported: usize,
    /// Export: rows written.
    pub rows: usize,
    /// Refused lines, the first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<LineError>,
    /// Refused lines in all.
    pub refused_lines: usize,
    /// Why the job stopped, in French.
    pub failure: Option<String>,
    /// Export: the writing under way.
    pub export: Option<ExportProgress>,
    /// Update mode: lines whose person on file had topics added.
    #[serde(default)]
    pub updated: usize,
    /// Update mode: what each such line did, the first [`MAX_REPORTED_ERRORS`] of them.
    #[serde(default)]
    pub notes: Vec<LineNote>,
}

impl FileJob {
    /// A new job, `status` first.
    pub fn new(
        kind: FileJobKind,
        by: &StaffIdentity,
        status: FileJobStatus,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: FileJobId::new(),
            kind,
            requested_by: by.clone(),
            created_at: now,
            updated_at: now,
            status,
            step: 0,
            position: 0,
            size: 0,
            header: None,
            lines_read: 0,
            lines: 0,
            imported: 0,
            rows: 0,
            errors: Vec::new(),
            refused_lines: 0,
            failure: None,
            export: None,
            updated: 0,
            notes: Vec::new(),
        }
    }

    /// Adds update-mode notes to the report (the first ones only).
    pub fn note(&mut self, notes: Vec<LineNote>) {
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.notes.len());
        self.notes.extend(notes.into_iter().take(room));
    }

    /// Whether an import adds the topics of people already on file.
    pub fn updates(&self) -> bool {
        matches!(self.kind, FileJobKind::Import { update: true, .. })
    }

    /// Adds refused lines to the report (the first ones in full, then only their count).
    pub fn refuse(&mut self, errors: Vec<LineError>) {
        let mut last = None;
        for e in errors {
            if last != Some(e.line) {
                self.refused_lines += 1;
                last = Some(e.line);
            }
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(e);
            }
        }
    }

    /// An import's file arrived, `size` bytes long: an all-or-nothing import or a dry run
    /// checks every line first, any other import writes them as it reads.
    pub fn file_received(&mut self, size: u64, now: DateTime<Utc>) {
        self.size = size;
        self.status = match self.kind {
            FileJobKind::Import {
                mode: ImportMode::AllOrNothing,
                ..
            }
            | FileJobKind::Import { dry_run: true, .. } => FileJobStatus::Checking,
            _ => FileJobStatus::Importing,
        };
        self.updated_at = now;
    }

    /// One step recorded at `now`.
    pub fn stepped(&mut self, now: DateTime<Utc>) {
        self.step += 1;
        self.updated_at = now;
    }

    /// An import read `bytes` more of its file: `lines_read` physical lines, `lines` of them
    /// subscriber lines.
    pub fn advance(&mut self, bytes: u64, lines_read: usize, lines: usize) {
        self.position += bytes;
        self.lines_read += lines_read;
        self.lines += lines;
    }

    /// A check that found every line good: the file is read again from the start, writing
    /// this time (what the check counted is kept in the report).
    pub fn write_after_check(&mut self) {
        self.status = FileJobStatus::Importing;
        self.header = None;
        self.position = 0;
        self.lines_read = 0;
        self.lines = 0;
    }

    /// The export is written (its last part sent) or the import's report is final.
    pub fn finish(&mut self) {
        self.status = FileJobStatus::Done;
    }

    /// Ends the job on a problem staff can read.
    pub fn fail(&mut self, why: impl Into<String>) {
        self.status = FileJobStatus::Failed;
        self.failure = Some(why.into());
    }

    /// The import mode and dry-run flag; none for an export.
    pub fn import(&self) -> Option<(ImportMode, bool)> {
        match self.kind {
            FileJobKind::Import { mode, dry_run, .. } => Some((mode, dry_run)),
            FileJobKind::Export { .. } => None,
        }
    }
}

/// One step of a job, queued: it runs only if the job still stands at `step`, so a step
/// delivered twice counts once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStep {
    pub job: FileJobId,
    pub step: u32,
}

/// A refused line: its number (1-based, counting the header as line 1), the column, and a French message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("Ligne {line} ({field}) : {message}")]
pub struct LineError {
    /// The line's number in the file.
    pub line: usize,
    /// The column at fault (`email`, `telephone`, `themes`, `canaux`, `reference`, `statut`),
    /// `ligne` when the line cannot be read, `fichier` when the file is empty.
    pub field: String,
    /// What is wrong and how to fix it, in French.
    pub message: String,
}

impl LineError {
    pub(crate) fn new(line: usize, field: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: these rules take time as an argument.
    fn now() -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    fn error(line: usize, field: &str) -> LineError {
        LineError {
            line,
            field: field.into(),
            message: "faux".into(),
        }
    }

    fn staff() -> StaffIdentity {
        StaffIdentity {
            id: "r".into(),
            name: "R".into(),
            roles: Default::default(),
            email: None,
            phone: None,
            department: None,
        }
    }

    #[test]
    fn refused_lines_are_counted_once_and_the_report_is_capped() {
        let mut job = FileJob::new(
            FileJobKind::Export {
                order: ExportOrder::Date,
            },
            &staff(),
            FileJobStatus::Exporting,
            now(),
        );
        job.refuse(vec![
            error(2, "email"),
            error(2, "themes"),
            error(3, "email"),
        ]);
        assert_eq!(job.refused_lines, 2);
        assert_eq!(job.errors.len(), 3);
        job.refuse(
            (10..10 + MAX_REPORTED_ERRORS)
                .map(|l| error(l, "email"))
                .collect(),
        );
        assert_eq!(job.refused_lines, 2 + MAX_REPORTED_ERRORS);
        assert_eq!(job.errors.len(), MAX_REPORTED_ERRORS);
    }

    fn import(mode: ImportMode, dry_run: bool) -> FileJob {
        let kind = FileJobKind::Import {
            mode,
            dry_run,
            update: false,
        };
        FileJob::new(kind, &staff(), FileJobStatus::AwaitingFile, now())
    }

    #[test]
    fn a_received_file_is_checked_first_unless_only_valid_lines_are_imported() {
        let later = now() + chrono::Duration::minutes(3);
        let cases = [
            (ImportMode::AllOrNothing, false, FileJobStatus::Checking),
            (ImportMode::AllOrNothing, true, FileJobStatus::Checking),
            (ImportMode::ValidOnly, true, FileJobStatus::Checking),
            (ImportMode::ValidOnly, false, FileJobStatus::Importing),
        ];
        for (mode, dry_run, status) in cases {
            let mut job = import(mode, dry_run);
            job.file_received(4096, later);
            assert_eq!((job.status, job.size), (status, 4096), "{mode:?} {dry_run}");
            assert_eq!(job.updated_at, later);
        }
    }

    #[test]
    fn writing_after_a_check_reads_the_file_again_and_keeps_the_report() {
        let mut job = import(ImportMode::AllOrNothing, false);
        job.file_received(100, now());
        job.header = Some("email;themes".into());
        job.advance(100, 4, 3);
        job.refuse(vec![error(2, "email")]);
        job.stepped(now());
        job.write_after_check();
        assert_eq!(job.status, FileJobStatus::Importing);
        assert_eq!(
            (
                job.header.as_deref(),
                job.position,
                job.lines_read,
                job.lines
            ),
            (None, 0, 0, 0)
        );
        assert_eq!((job.step, job.size, job.refused_lines), (1, 100, 1));
        job.finish();
        assert_eq!(job.status, FileJobStatus::Done);
    }

    #[test]
    fn a_job_and_its_step_read_back_as_written() {
        let job = FileJob::new(
            FileJobKind::Import {
                mode: ImportMode::ValidOnly,
                dry_run: true,
                update: true,
            },
            &staff(),
            FileJobStatus::AwaitingFile,
            now(),
        );
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<FileJob>(&json).unwrap(), job);
        assert!(json.contains("\"mode\":\"valid_only\""));
        // Jobs written before the update mode and the export's order read as they were.
        let old = json.replace(",\"update\":true", "");
        let read: FileJob = serde_json::from_str(&old).unwrap();
        assert!(!read.updates());
        let export = serde_json::to_string(&FileJob::new(
            FileJobKind::Export {
                order: ExportOrder::Date,
            },
            &staff(),
            FileJobStatus::Exporting,
            now(),
        ))
        .unwrap()
        .replace(",\"order\":\"date\"", "");
        let read: FileJob = serde_json::from_str(&export).unwrap();
        assert_eq!(
            read.kind,
            FileJobKind::Export {
                order: ExportOrder::Date
            }
        );
    }
}

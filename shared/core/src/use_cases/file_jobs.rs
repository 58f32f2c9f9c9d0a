//! Big files: the subscriber file exported, and imports read, step by step through the file
//! drop, so neither passes through a request or a response (6 MB at most on Lambda). Staff get
//! links that expire: one to send the import to, one to download the export.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::{Clock, Month};
use crate::config::BigFiles;
use crate::domain::file_job::{
    ExportOrder, ExportProgress, FileJob, FileJobId, FileJobKind, FileJobStatus, FileStep,
    ImportMode, LineNote,
};
use crate::domain::queue::{Job, JobOutcome};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::subscriber::{Choice, Subscriber, SubscriberId};
use crate::domain::topic::Topic;
use crate::error::{DomainError, FieldErrors, StoreError};
use crate::ports::{
    open_topics, FileDrop, FileJobStore, JobQueue, SignupOrigin, StatsStore, SubscriberReports,
    SubscriberStore, TopicStore,
};
use crate::spreadsheet::{
    check_first_part, check_part, export_header, export_rows, line_ends, only_header, separator_of,
    whole_records, ImportCheck, ImportLine, ImportPart, LineError, SeenContacts,
};
use crate::use_cases::subscriber_file::{
    already_subscribed, imported_subscriber, owner_update, OwnerUpdate,
};

/// Who exports and imports: the file's keepers.
const FILE_KEEPERS: [Role; 2] = [Role::Redaction, Role::Admin];
/// How long staff have to send an import's file.
const UPLOAD_LINK_VALID: Duration = Duration::from_secs(30 * 60);
/// How long an export's download link works (asked again, a new one is given).
const DOWNLOAD_LINK_VALID: Duration = Duration::from_secs(10 * 60);
/// The biggest import accepted (a million lines are about 100 MB).
const MAX_IMPORT_BYTES: u64 = 512 << 20;
/// Jobs listed to staff.
const RECENT_JOBS: usize = 20;

/// A job as staff see it, with the export's download link once it is ready.
#[derive(Debug, Clone, Serialize)]
pub struct FileJobView {
    #[serde(flatten)]
    pub job: FileJob,
    /// The export's link, valid a few minutes.
    pub download_url: Option<String>,
}

/// An import waiting for its file, and where to send it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportStarted {
    #[serde(flatten)]
    pub job: FileJob,
    /// Where to `PUT` the CSV file.
    pub upload_url: String,
}

/// The ports big-file jobs work on.
pub struct FileJobsDeps {
    pub subscribers: Arc<dyn SubscriberStore>,
    pub reports: Arc<dyn SubscriberReports>,
    pub topics: Arc<dyn TopicStore>,
    pub stats: Arc<dyn StatsStore>,
    pub clock: Arc<dyn Clock>,
    pub jobs: Arc<dyn FileJobStore>,
    pub files: Arc<dyn FileDrop>,
    /// Where the next step of a job is queued.
    pub queue: Arc<dyn JobQueue>,
    pub settings: BigFiles,
}

/// Exports and imports of the subscriber file, step by step.
pub struct FileJobs {
    d: FileJobsDeps,
}

/// The size of an import's file as received, or why it cannot be read.
fn received_size(size: Option<u64>) -> Result<u64, DomainError> {
    let problem = match size {
        None => "Le fichier n'a pas été reçu : envoyez-le de nouveau.".to_owned(),
        Some(0) => "Le fichier est vide.".to_owned(),
        Some(n) if n > MAX_IMPORT_BYTES => format!(
            "Le fichier dépasse {} Mo : coupez-le en plusieurs fichiers.",
            MAX_IMPORT_BYTES >> 20
        ),
        Some(n) => return Ok(n),
    };
    Err(FieldErrors::single("file", problem))
}

impl FileJobs {
    pub fn new(d: FileJobsDeps) -> Self {
        Self { d }
    }

    /// Starts writing the whole file as CSV.
    pub async fn start_export(
        &self,
        by: &StaffIdentity,
        order: ExportOrder,
    ) -> Result<FileJob, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let job = FileJob::new(
            FileJobKind::Export { order },
            by,
            FileJobStatus::Exporting,
            self.d.clock.now(),
        );
        self.d.jobs.insert_file_job(&job).await?;
        self.queue_step(&job).await?;
        Ok(job)
    }

    /// Starts an import: the job waits for its file, sent to the link given.
    pub async fn start_import(
        &self,
        by: &StaffIdentity,
        mode: ImportMode,
        dry_run: bool,
        update: bool,
    ) -> Result<ImportStarted, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let job = FileJob::new(
            FileJobKind::Import {
                mode,
                dry_run,
                update,
            },
            by,
            FileJobStatus::AwaitingFile,
            self.d.clock.now(),
        );
        let upload_url = self
            .d
            .files
            .upload_link(&job.id.file_key(), UPLOAD_LINK_VALID)
            .await?;
        self.d.jobs.insert_file_job(&job).await?;
        Ok(ImportStarted { job, upload_url })
    }

    /// The import's file was sent: reading it starts.
    pub async fn file_sent(
        &self,
        by: &StaffIdentity,
        id: FileJobId,
    ) -> Result<FileJob, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let mut job = self.job(id).await?;
        if job.import().is_none() {
            return Err(DomainError::Conflict(
                "Cette tâche est un export : il n'y a pas de fichier à envoyer.".into(),
            ));
        };
        if job.status != FileJobStatus::AwaitingFile {
            return Err(DomainError::Conflict(
                "Le fichier de cet import a déjà été reçu.".into(),
            ));
        }
        let key = id.file_key();
        // Checked before the link is closed, so a file not (yet) there can still be sent.
        received_size(self.d.files.size(&key).await?)?;
        self.d.files.close_upload(&key).await?;
        // Read again once no send can change the file: the steps read no further than this.
        let size = received_size(self.d.files.size(&key).await?)?;
        job.file_received(size, self.d.clock.now());
        self.d.jobs.save_file_job(&job, job.step).await?;
        self.queue_step(&job).await?;
        Ok(job)
    }

    /// A job, with its download link when it is a finished export.
    pub async fn view(
        &self,
        by: &StaffIdentity,
        id: FileJobId,
    ) -> Result<FileJobView, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let job = self.job(id).await?;
        let download_url = if matches!(job.kind, FileJobKind::Export { .. })
            && job.status == FileJobStatus::Done
        {
            let name = format!(
                "abonnes-telmail-{}.csv",
                crate::clock::town_date(job.created_at)
            );
            Some(
                self.d
                    .files
                    .download_link(&id.file_key(), &name, DOWNLOAD_LINK_VALID)
                    .await?,
            )
        } else {
            None
        };
        Ok(FileJobView { job, download_url })
    }

    /// The latest exports and imports, newest first.
    pub async fn recent(&self, by: &StaffIdentity) -> Result<Vec<FileJob>, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        Ok(self.d.jobs.recent_file_jobs(RECENT_JOBS).await?)
    }

    async fn job(&self, id: FileJobId) -> Result<FileJob, DomainError> {
        self.d.jobs.file_job(id).await?.ok_or_else(|| {
            DomainError::NotFound("Cet export ou cet import n'existe pas (ou plus).".into())
        })
    }

    async fn queue_step(&self, job: &FileJob) -> Result<(), StoreError> {
        let step = FileStep {
            job: job.id,
            step: job.step,
        };
        self.d
            .queue
            .enqueue(&[Job::File(step)], Duration::ZERO)
            .await
    }

    /// Runs one queued step. A step delivered again after its job moved on does nothing, except
    /// queue the next one if the run that recorded it could not (so a job never stalls).
    pub async fn run_step(&self, step: &FileStep) -> Result<JobOutcome, DomainError> {
        let Some(mut job) = self.d.jobs.file_job(step.job).await? else {
            return Ok(JobOutcome::Done);
        };
        if !job.status.is_running() {
            return Ok(JobOutcome::Done);
        }
        if job.step == step.step + 1 {
            self.queue_step(&job).await?;
            return Ok(JobOutcome::Done);
        }
        if job.step != step.step {
            return Ok(JobOutcome::Done);
        }
        let read = job.step;
        match job.status {
            FileJobStatus::Exporting => self.export_step(&mut job).await?,
            _ => self.import_step(&mut job).await?,
        }
        job.stepped(self.d.clock.now());
        match self.d.jobs.save_file_job(&job, read).await {
            Ok(()) => {}
            // Another run of the same step recorded it first.
            Err(StoreError::Conflict(_)) => return Ok(JobOutcome::Done),
            Err(e) => return Err(e.into()),
        }
        if job.status.is_running() {
            self.queue_step(&job).await?;
        } else if job.import().is_some() {
            // The import's report is final: its file and memory are of no more use.
            self.d.files.remove(&job.id.file_key()).await?;
            // The memories this step and the one before may have written.
            for step in [job.step, job.step.saturating_sub(1)] {
                self.d.files.remove(&job.id.seen_key(step)).await?;
            }
        }
        Ok(JobOutcome::Done)
    }

    /// Writes one part of the export: pages of subscribers until the part is big enough.
    async fn export_step(&self, job: &mut FileJob) -> Result<(), DomainError> {
        let key = job.id.file_key();
        let topics = self.d.topics.list().await?;
        let mut progress = job.export.take().unwrap_or_default();
        if progress.upload.is_empty() {
            progress.upload = self.d.files.start_parts(&key).await?;
        }
        let mut part = if progress.parts.is_empty() {
            export_header()
        } else {
            Vec::new()
        };
        if progress.parts.is_empty() && progress.cursor.is_none() && !progress.unsorted {
            if let FileJobKind::Export { order } = job.kind {
                if let Some(mut all) = self.whole_file_if_small().await? {
                    sort_export(&mut all, order);
                    job.rows = all.len();
                    part.extend(export_rows(&all, &topics));
                    self.export_at_once(&key, &mut progress, part).await?;
                    job.finish();
                    job.export = Some(progress);
                    return Ok(());
                }
                progress.unsorted = true;
            }
        }
        let mut at_end = false;
        while part.len() < self.d.settings.export_bytes {
            let (page, next) = self
                .d
                .reports
                .page_all(progress.cursor.as_deref(), self.d.settings.export_page)
                .await?;
            job.rows += page.len();
            part.extend(export_rows(&page, &topics));
            match next {
                Some(cursor) => progress.cursor = Some(cursor),
                None => {
                    at_end = true;
                    break;
                }
            }
        }
        let number = u32::try_from(progress.parts.len() + 1).unwrap_or(u32::MAX);
        let tag = self
            .d
            .files
            .put_part(&key, &progress.upload, number, part)
            .await?;
        progress.parts.push(tag);
        if at_end {
            self.d
                .files
                .finish_parts(&key, &progress.upload, &progress.parts)
                .await?;
            job.finish();
        }
        job.export = Some(progress);
        Ok(())
    }

    /// Writes a whole sorted export in parts of the configured size, as the paged export
    /// writes them, and completes the file.
    async fn export_at_once(
        &self,
        key: &str,
        progress: &mut ExportProgress,
        file: Vec<u8>,
    ) -> Result<(), DomainError> {
        for chunk in file.chunks(self.d.settings.export_bytes.max(1)) {
            let number = u32::try_from(progress.parts.len() + 1).unwrap_or(u32::MAX);
            let tag = self
                .d
                .files
                .put_part(key, &progress.upload, number, chunk.to_vec())
                .await?;
            progress.parts.push(tag);
        }
        self.d
            .files
            .finish_parts(key, &progress.upload, &progress.parts)
            .await?;
        Ok(())
    }

    /// The whole file when it has at most `sort_limit` subscribers (none past it).
    async fn whole_file_if_small(&self) -> Result<Option<Vec<Subscriber>>, DomainError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .d
                .reports
                .page_all(cursor.as_deref(), self.d.settings.export_page)
                .await?;
            all.extend(page);
            if all.len() > self.d.settings.sort_limit {
                return Ok(None);
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(Some(all)),
            }
        }
    }

    /// Reads one part of the import's file: checks its lines, and writes them when importing.
    async fn import_step(&self, job: &mut FileJob) -> Result<(), DomainError> {
        let Some((mode, dry_run)) = job.import() else {
            return Ok(());
        };
        let key = job.id.file_key();
        // Never past the size checked when the file was received: a file changed since (an S3
        // link cannot be revoked) is read no further.
        let left = job.size.saturating_sub(job.position);
        let window = self
            .d
            .files
            .read(&key, job.position, self.d.settings.import_bytes.min(left))
            .await?;
        let at_end = job.position + window.len() as u64 >= job.size;
        // Duplicates within the file are found through the memory of earlier parts, except when
        // importing after a check that found none.
        let remember = job.status == FileJobStatus::Checking || mode == ImportMode::ValidOnly;
        let mut seen = self.seen_before(job, remember).await?;
        let topics = open_topics(self.d.topics.as_ref(), self.d.clock.now()).await?;
        let (check, cut) = match self.check_window(job, &window, at_end, &topics, &mut seen) {
            Ok(read) => read,
            Err(e) => {
                job.fail(format!("Ligne {} : {}", e.line, e.message));
                return Ok(());
            }
        };
        if remember {
            self.remember_seen(job, seen).await?;
        }
        let faulty = check.errors.iter().map(|e| e.line).collect::<BTreeSet<_>>();
        job.advance(
            cut as u64,
            line_ends(&window[..cut]),
            check.valid.len() + faulty.len(),
        );
        let mut errors = check.errors;
        errors.extend(
            self.check_or_write(job, check.valid, &topics, dry_run)
                .await?,
        );
        errors.sort_by_key(|e| e.line);
        job.refuse(errors);
        if job.position >= job.size {
            self.end_of_file(job, dry_run).await?;
        }
        Ok(())
    }

    /// The addresses met before this step (none when not remembered, or at the file's start).
    async fn seen_before(
        &self,
        job: &FileJob,
        remember: bool,
    ) -> Result<SeenContacts, DomainError> {
        if !remember || job.position == 0 {
            return Ok(SeenContacts::default());
        }
        let bytes = self
            .d
            .files
            .read(&job.id.seen_key(job.step), 0, u64::MAX)
            .await?;
        Ok(SeenContacts::from_bytes(&bytes).ok_or_else(|| {
            StoreError::Backend(format!("file job {}: unreadable memory", job.id))
        })?)
    }

    /// Keeps the addresses met so far for the next step; the memory before this step's input
    /// is read by nobody any more.
    async fn remember_seen(&self, job: &FileJob, seen: SeenContacts) -> Result<(), DomainError> {
        let next = job.step + 1;
        self.d
            .files
            .put(&job.id.seen_key(next), seen.to_bytes())
            .await?;
        if job.step > 0 {
            self.d.files.remove(&job.id.seen_key(job.step - 1)).await?;
        }
        Ok(())
    }

    /// Checks the valid lines against the file (checking) or writes them (importing); the
    /// lines refused. A check before importing tells only what is wrong; a dry run also what
    /// would change.
    async fn check_or_write(
        &self,
        job: &mut FileJob,
        valid: Vec<ImportLine>,
        topics: &[Topic],
        dry_run: bool,
    ) -> Result<Vec<LineError>, DomainError> {
        if job.status == FileJobStatus::Checking {
            let (refused, notes) = self.known(job, valid, topics).await?;
            if dry_run {
                job.updated += notes.iter().filter(|(adds, _)| *adds).count();
                job.note(notes.into_iter().map(|(_, n)| n).collect());
            }
            return Ok(refused);
        }
        let written = self.write(job, valid, topics).await?;
        job.imported += written.imported;
        job.updated += written.updated;
        job.note(written.notes);
        Ok(written.refused)
    }

    /// The whole file is read: a file of only a header fails, a check that found every line
    /// good reads it again writing (no memory needed), anything else is done.
    async fn end_of_file(&self, job: &mut FileJob, dry_run: bool) -> Result<(), DomainError> {
        if job.lines == 0 {
            job.fail(only_header(job.lines_read.max(1)).message);
        } else if job.status == FileJobStatus::Checking && !dry_run && job.refused_lines == 0 {
            for step in [job.step, job.step + 1] {
                self.d.files.remove(&job.id.seen_key(step)).await?;
            }
            job.write_after_check();
        } else {
            job.finish();
        }
        Ok(())
    }

    /// Checks the whole records at the start of `window`; gives the check and their length.
    fn check_window(
        &self,
        job: &mut FileJob,
        window: &[u8],
        at_end: bool,
        topics: &[Topic],
        seen: &mut SeenContacts,
    ) -> Result<(ImportCheck, usize), LineError> {
        let separator = match &job.header {
            Some(header) => separator_of(header),
            None => separator_of(
                crate::spreadsheet::decode_text(window)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default(),
            ),
        };
        let cut = whole_records(window, separator, at_end);
        if cut == 0 && !window.is_empty() {
            return Err(LineError {
                line: job.lines_read + 1,
                field: "ligne".into(),
                message: format!(
                    "Cette ligne dépasse {} Ko : le fichier n'est sans doute pas un CSV.",
                    self.d.settings.import_bytes >> 10
                ),
            });
        }
        let check = match &job.header {
            None => {
                let (check, header) = check_first_part(&window[..cut], topics, seen)?;
                job.header = Some(header);
                check
            }
            Some(header) => check_part(
                &ImportPart {
                    header,
                    bytes: &window[..cut],
                    lines_before: job.lines_read,
                },
                topics,
                seen,
            )?,
        };
        Ok((check, cut))
    }

    /// The lines whose address or number is already in the file: refused, or in update mode
    /// what adding their topics would do (`true` with a note when it adds some).
    async fn known(
        &self,
        job: &FileJob,
        lines: Vec<ImportLine>,
        topics: &[Topic],
    ) -> Result<(Vec<LineError>, Vec<(bool, LineNote)>), StoreError> {
        let update = job.updates();
        let now = self.d.clock.now();
        let found: Vec<Option<Result<(bool, LineNote), LineError>>> = stream::iter(lines)
            .map(|line| async move {
                let mut known = false;
                if let Some(e) = &line.signup.email {
                    known |= self.d.subscribers.find_by_email(e).await?.is_some();
                }
                if let Some(p) = &line.signup.phone {
                    known |= self.d.subscribers.find_by_phone(p).await?.is_some();
                }
                if !known {
                    return Ok::<_, StoreError>(None);
                }
                if !update {
                    return Ok(Some(Err(already_subscribed(line.line))));
                }
                let number = line.line;
                let form = imported_subscriber(
                    line_subscriber_id(job.id, number),
                    line.signup,
                    &job.requested_by,
                    &line.form_reference,
                    now,
                );
                Ok(
                    match owner_update(self.d.subscribers.as_ref(), &form).await? {
                        OwnerUpdate::Adds(_, added) => {
                            Some(Ok((true, note(number, "thèmes à ajouter", &added, topics))))
                        }
                        OwnerUpdate::Nothing(_) => Some(Ok((false, nothing_to_add(number)))),
                        OwnerUpdate::Refused(why) => Some(Err(refused_update(number, why))),
                        OwnerUpdate::Gone => None,
                    },
                )
            })
            .buffered(self.d.settings.concurrency)
            .try_collect()
            .await?;
        let (mut refused, mut notes) = (Vec::new(), Vec::new());
        for f in found.into_iter().flatten() {
            match f {
                Ok(n) => notes.push(n),
                Err(e) => refused.push(e),
            }
        }
        Ok((refused, notes))
    }

    /// Creates the subscribers of valid lines; gives how many, and the lines refused because
    /// their address or number is taken (in update mode, the topics those lines add to the
    /// person on file). Each line's subscriber has an id drawn from the job and the line, so a
    /// step run again recognises what its first run wrote.
    async fn write(
        &self,
        job: &FileJob,
        lines: Vec<ImportLine>,
        topics: &[Topic],
    ) -> Result<Written, StoreError> {
        let now = self.d.clock.now();
        let numbers: Vec<usize> = lines.iter().map(|l| l.line).collect();
        let subs: Vec<Subscriber> = lines
            .into_iter()
            .map(|line| {
                imported_subscriber(
                    line_subscriber_id(job.id, line.line),
                    line.signup,
                    &job.requested_by,
                    &line.form_reference,
                    now,
                )
            })
            .collect();
        let answers = self.d.subscribers.insert_many(&subs).await?;
        let (mut new, mut ours) = (0, 0);
        let mut out = Written::default();
        for ((line, sub), answer) in numbers.into_iter().zip(&subs).zip(answers) {
            match answer {
                Ok(()) => new += 1,
                // Written by an earlier run of this step, or someone else's address.
                Err(StoreError::Conflict(_)) => match self.d.subscribers.get(sub.id).await? {
                    Some(_) => ours += 1,
                    None if job.updates() => self.add_topics(line, sub, topics, &mut out).await?,
                    None => out.refused.push(already_subscribed(line)),
                },
                Err(e) => return Err(e),
            }
        }
        if new > 0 {
            self.d
                .stats
                .add_signups(Month::of(now), &SignupOrigin::Import.key(), new as i64)
                .await?;
        }
        out.imported = new + ours;
        Ok(out)
    }

    /// Update mode: adds a line's topics to the person on file who has its contacts.
    async fn add_topics(
        &self,
        line: usize,
        form: &Subscriber,
        topics: &[Topic],
        out: &mut Written,
    ) -> Result<(), StoreError> {
        match owner_update(self.d.subscribers.as_ref(), form).await? {
            OwnerUpdate::Adds(mut owner, added) => {
                let mut choices = owner.choices.clone();
                choices.extend(added.iter().cloned());
                owner.set_choices(choices, self.d.clock.now());
                match self.d.subscribers.update(&owner).await {
                    Ok(()) => {
                        out.updated += 1;
                        out.notes.push(note(line, "thèmes ajoutés", &added, topics));
                    }
                    Err(StoreError::Conflict(_)) => out.refused.push(refused_update(
                        line,
                        "Cet abonné vient d'être modifié par ailleurs : importez cette ligne de nouveau.",
                    )),
                    Err(e) => return Err(e),
                }
            }
            OwnerUpdate::Nothing(_) => out.notes.push(nothing_to_add(line)),
            OwnerUpdate::Refused(why) => out.refused.push(refused_update(line, why)),
            OwnerUpdate::Gone => out.refused.push(already_subscribed(line)),
        }
        Ok(())
    }
}

/// What writing a part of an import did.
#[derive(Debug, Default)]
struct Written {
    /// Subscribers created.
    imported: usize,
    /// People on file who had topics added (update mode).
    updated: usize,
    notes: Vec<LineNote>,
    refused: Vec<LineError>,
}

/// A line's note: what it adds, topics by name with their channels.
fn note(line: usize, what: &str, added: &BTreeSet<Choice>, topics: &[Topic]) -> LineNote {
    let mut by_topic: Vec<(String, Vec<&str>)> = Vec::new();
    for c in added {
        let name = topics
            .iter()
            .find(|t| t.slug == c.topic)
            .map_or_else(|| c.topic.to_string(), |t| t.name.clone());
        let channel = match c.channel {
            crate::domain::contact::Channel::Email => "e-mail",
            crate::domain::contact::Channel::Sms => "SMS",
            crate::domain::contact::Channel::Voice => "appel",
        };
        match by_topic.iter_mut().find(|(n, _)| *n == name) {
            Some((_, channels)) => channels.push(channel),
            None => by_topic.push((name, vec![channel])),
        }
    }
    let list: Vec<String> = by_topic
        .into_iter()
        .map(|(name, channels)| format!("{name} ({})", channels.join(", ")))
        .collect();
    LineNote {
        line,
        message: format!("Déjà inscrit : {what} : {}.", list.join(", ")),
    }
}

fn nothing_to_add(line: usize) -> LineNote {
    LineNote {
        line,
        message: "Déjà inscrit à ces thèmes : rien à ajouter.".into(),
    }
}

fn refused_update(line: usize, why: &str) -> LineError {
    LineError {
        line,
        field: "email".into(),
        message: why.to_owned(),
    }
}

/// Puts an export's rows in the order asked: by sign-up date (oldest first), or by contact as a
/// spreadsheet sorts it (email addresses in alphabetical order, then the phone-only entries).
fn sort_export(all: &mut [Subscriber], order: ExportOrder) {
    match order {
        ExportOrder::Date => all.sort_by_key(|a| (a.created_at, a.id)),
        ExportOrder::Contact => all.sort_by_cached_key(|s| {
            (
                s.email.is_none(),
                s.email
                    .as_ref()
                    .map(|e| e.as_str().to_lowercase())
                    .or_else(|| s.phone.as_ref().map(|p| p.to_string()))
                    .unwrap_or_default(),
                s.id,
            )
        }),
    }
}

/// The id of the subscriber an import line creates: drawn from the job and the line.
fn line_subscriber_id(job: FileJobId, line: usize) -> SubscriberId {
    let digest = Sha256::new()
        .chain_update(job.0.as_bytes())
        .chain_update((line as u64).to_le_bytes())
        .finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    SubscriberId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_always_draws_the_same_subscriber_id_and_lines_differ() {
        let job = FileJobId::new();
        assert_eq!(line_subscriber_id(job, 7), line_subscriber_id(job, 7));
        assert_ne!(line_subscriber_id(job, 7), line_subscriber_id(job, 8));
        assert_ne!(
            line_subscriber_id(job, 7),
            line_subscriber_id(FileJobId::new(), 7)
        );
    }
}

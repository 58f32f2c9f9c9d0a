//! Staff use cases on the subscriber file: search, add from a paper form, edit, erase (RGPD),
//! CSV import with a per-line report, CSV export. Reserved to `redaction` (and `admin`).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, Month};
use crate::domain::contact::PhoneNumber;
use crate::domain::delivery::Suppression;
use crate::domain::file_job::MAX_REPORTED_ERRORS;
use crate::domain::signup::{
    parse_choices, parse_contacts, Signup, SignupInput, SubscriptionInput,
};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::subscriber::{
    Choice, Consent, ConsentSource, Subscriber, SubscriberId, SubscriberState, SubscriberStatus,
    CONSENT_WORDING_VERSION,
};
use crate::domain::topic::Topic;
use crate::error::{DomainError, FieldErrors, StoreError};
use crate::ports::{
    Counter, SignupOrigin, StatsStore, SubscriberQuery, SubscriberReports, SubscriberStore,
    SuppressionStore, TopicStore,
};
use crate::spreadsheet::{check_import, export_csv, ImportLine, LineError};
use crate::use_cases::welcome::Welcome;

/// A subscriber typed in from a paper form.
#[derive(Debug, Clone, Deserialize)]
pub struct PaperInput {
    #[serde(default)]
    pub email: Option<String>,
    /// Mobile.
    #[serde(default)]
    pub phone: Option<String>,
    /// Topics and channels.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInput>,
    /// The paper form's reference (required: it is the proof of consent).
    #[serde(default)]
    pub paper_form_reference: Option<String>,
    /// Where the form was handed in (town hall, a maison de quartier…); required from the
    /// front desk (`accueil`).
    #[serde(default)]
    pub place: Option<String>,
    /// Zone slugs the resident named on the form (optional).
    #[serde(default)]
    pub zones: Vec<String>,
    /// When the form's address or number is already on file: add the form's topics to that
    /// subscriber's choices (never removing any, never changing a contact) instead of refusing.
    #[serde(default)]
    pub add_to_existing: bool,
    /// Whether the resident is sent the welcome message (default: yes; no when they were told
    /// another way, say when old forms are typed in again).
    #[serde(default = "yes")]
    pub welcome: bool,
}

fn yes() -> bool {
    true
}

impl Default for PaperInput {
    fn default() -> Self {
        Self {
            email: None,
            phone: None,
            subscriptions: Vec::new(),
            paper_form_reference: None,
            place: None,
            zones: Vec::new(),
            add_to_existing: false,
            welcome: true,
        }
    }
}

/// A staff edit of a subscriber.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EditInput {
    /// New email (empty string removes it).
    #[serde(default)]
    pub email: Option<String>,
    /// New mobile (empty string removes it).
    #[serde(default)]
    pub phone: Option<String>,
    /// New choices.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInput>,
}

pub use crate::domain::file_job::ImportMode;

/// The largest file imported in one request: bigger ones go through the big-file import (file
/// jobs), which reads them a part of this size at a time.
pub const MAX_SYNC_IMPORT_BYTES: usize = 1 << 20;

/// Why a file is refused for the import in one request, in French.
pub fn too_big_for_one_request() -> String {
    format!(
        "Ce fichier dépasse {} Mio, la taille importée en une fois : utilisez l'import des gros fichiers (« Importer un fichier CSV » du fichier des abonnés, ou POST /api/admin/files/imports), qui accepte les fichiers de toute taille.",
        MAX_SYNC_IMPORT_BYTES >> 20
    )
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Lines read (without header and blank lines).
    pub lines: usize,
    /// Subscribers created.
    pub imported: usize,
    /// True when nothing was written (errors with all-or-nothing, or a dry run).
    pub nothing_written: bool,
    /// Refused lines with the reason, the first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<LineError>,
    /// Refused lines in all.
    pub refused_lines: usize,
}

impl ImportReport {
    /// The report of `lines` lines, `imported` of them written, the errors sorted by line: the
    /// refused lines all counted, the first [`MAX_REPORTED_ERRORS`] errors listed, as file jobs do.
    fn new(
        lines: usize,
        imported: usize,
        nothing_written: bool,
        mut errors: Vec<LineError>,
    ) -> Self {
        errors.sort_by_key(|e| e.line);
        let refused_lines = errors.iter().map(|e| e.line).collect::<BTreeSet<_>>().len();
        errors.truncate(MAX_REPORTED_ERRORS);
        Self {
            lines,
            imported,
            nothing_written,
            errors,
            refused_lines,
        }
    }
}

/// Subscriber-file use cases.
pub struct SubscriberFile {
    subscribers: Arc<dyn SubscriberStore>,
    reports: Arc<dyn SubscriberReports>,
    topics: Arc<dyn TopicStore>,
    stats: Arc<dyn StatsStore>,
    clock: Arc<dyn Clock>,
    suppressions: Arc<dyn SuppressionStore>,
    zones: Arc<dyn crate::ports::ZoneStore>,
    /// Welcomes residents typed in from paper forms (none: nobody is told).
    welcome: Option<Welcome>,
}

const FILE_KEEPERS: [Role; 2] = [Role::Redaction, Role::Admin];

/// Who types in paper forms and looks subscribers up: the file's keepers and the front desk.
const FRONT_DESK: [Role; 3] = [Role::Redaction, Role::Admin, Role::Accueil];

/// Answers the front desk gets at most for one search (and no further pages).
const FRONT_DESK_ANSWERS: usize = 20;

/// Letters or digits the front desk types at least to search.
const FRONT_DESK_TYPED: usize = 3;

/// A subscriber as staff are shown it: its record, and its contacts in full or masked.
#[derive(Debug, Clone)]
pub struct Shown {
    pub subscriber: Subscriber,
    /// The email, in full or masked (`j•••@exemple.fr`).
    pub email: Option<String>,
    /// The mobile, in full or masked (`+336 •• •• •• 78`).
    pub phone: Option<String>,
}

/// One page of a staff search, with the page size and offset that applied.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<Shown>,
    pub limit: usize,
    pub offset: usize,
}

/// Whether `by` keeps the file (`redaction` or `admin`), rather than only the front desk.
fn keeps_the_file(by: &StaffIdentity) -> bool {
    FILE_KEEPERS.iter().any(|r| by.has(*r))
}

/// The front desk looks for one person: a search with at least [`FRONT_DESK_TYPED`] letters or
/// digits, its first [`FRONT_DESK_ANSWERS`] answers only; the error names the `q` field.
fn front_desk_query(query: SubscriberQuery) -> Result<SubscriberQuery, DomainError> {
    let typed = query
        .text
        .as_deref()
        .map_or(0, |t| t.chars().filter(|c| c.is_alphanumeric()).count());
    if typed < FRONT_DESK_TYPED {
        return Err(FieldErrors::single(
            "q",
            format!("Tapez au moins {FRONT_DESK_TYPED} lettres ou chiffres de l'adresse e-mail ou du numéro de la personne : l'accueil cherche une personne, il ne parcourt pas le fichier."),
        ));
    }
    Ok(SubscriberQuery {
        limit: query.limit.clamp(1, FRONT_DESK_ANSWERS),
        offset: 0,
        ..query
    })
}

/// Which of `sub`'s contacts the searched `text` matched (email, mobile), as the stores match:
/// part of the address, or part of the number typed the French way or in E.164.
fn matched(sub: &Subscriber, text: Option<&str>) -> (bool, bool) {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return (false, false);
    };
    let email = sub
        .email
        .as_ref()
        .is_some_and(|e| e.as_str().to_lowercase().contains(&text.to_lowercase()));
    let (compact, international) = PhoneNumber::search_fragments(text);
    let phone = sub.phone.as_ref().is_some_and(|p| {
        [text, compact.as_str(), international.as_str()]
            .into_iter()
            .any(|t| p.as_str().contains(t))
    });
    (email, phone)
}

/// What `by` is shown of `sub`: every contact for the file's keepers and for the front desk's
/// own entries; otherwise only the contact `text` matched, the other masked.
fn shown(by: &StaffIdentity, subscriber: Subscriber, text: Option<&str>) -> Shown {
    let whole = may_edit(by, &subscriber).is_ok();
    let (email_matched, phone_matched) = matched(&subscriber, text);
    Shown {
        email: subscriber.email.as_ref().map(|e| {
            if whole || email_matched {
                e.to_string()
            } else {
                e.masked()
            }
        }),
        phone: subscriber.phone.as_ref().map(|p| {
            if whole || phone_matched {
                p.to_string()
            } else {
                p.masked()
            }
        }),
        subscriber,
    }
}

/// The front desk corrects only what it typed: whether `by` may edit `sub`.
fn may_edit(by: &StaffIdentity, sub: &Subscriber) -> Result<(), DomainError> {
    if keeps_the_file(by) {
        return Ok(());
    }
    match &sub.consent.source {
        ConsentSource::Paper { staff_id, .. } if *staff_id == by.id => Ok(()),
        _ => Err(DomainError::Forbidden(
            "L'accueil ne corrige que les inscriptions qu'il a saisies ; adressez-vous au service communication.".into(),
        )),
    }
}

fn duplicate(e: StoreError) -> DomainError {
    match e {
        StoreError::Conflict(_) => {
            let mut f = FieldErrors::new();
            f.add(
                "email",
                "Cette adresse e-mail ou ce numéro appartient déjà à un autre abonné.",
            );
            f.add(
                "phone",
                "Cette adresse e-mail ou ce numéro appartient déjà à un autre abonné.",
            );
            DomainError::Validation(f)
        }
        other => other.into(),
    }
}

/// What adding a form's (or an import line's) topics to the person already on file would do.
pub(crate) enum OwnerUpdate {
    /// Topics to add to this entry (its choices as read).
    Adds(Subscriber, BTreeSet<Choice>),
    /// The entry has every topic already.
    Nothing(Subscriber),
    /// Not done, in French: contacts differ, two entries, an entry not active.
    Refused(&'static str),
    /// No entry has these contacts any more.
    Gone,
}

/// Finds the one active entry holding the form's contacts and the choices the form adds to it.
/// It only adds: a form naming another contact, or contacts of two entries, is refused.
pub(crate) async fn owner_update(
    subscribers: &dyn SubscriberStore,
    form: &Subscriber,
) -> Result<OwnerUpdate, StoreError> {
    let by_email = match &form.email {
        Some(e) => subscribers.find_by_email(e).await?,
        None => None,
    };
    let by_phone = match &form.phone {
        Some(p) => subscribers.find_by_phone(p).await?,
        None => None,
    };
    let owner = match (by_email, by_phone) {
        (Some(a), Some(b)) if a.id != b.id => {
            return Ok(OwnerUpdate::Refused("L'adresse et le numéro appartiennent à deux abonnés différents : adressez-vous au service communication."));
        }
        (Some(owner), _) | (None, Some(owner)) => owner,
        (None, None) => return Ok(OwnerUpdate::Gone),
    };
    let differs = |form: Option<String>, on_file: Option<String>| form.is_some() && form != on_file;
    if differs(
        form.email.as_ref().map(|e| e.to_string()),
        owner.email.as_ref().map(|e| e.to_string()),
    ) || differs(
        form.phone.as_ref().map(|p| p.to_string()),
        owner.phone.as_ref().map(|p| p.to_string()),
    ) {
        return Ok(OwnerUpdate::Refused("Ce formulaire donne une autre adresse ou un autre numéro que l'inscription existante : seul le service communication (rôle Rédaction) peut changer des coordonnées."));
    }
    if owner.status() != SubscriberStatus::Active {
        return Ok(OwnerUpdate::Refused("Cette inscription n'est pas active (en attente de confirmation ou désabonnée) : adressez-vous au service communication."));
    }
    let added: BTreeSet<Choice> = form.choices.difference(&owner.choices).cloned().collect();
    Ok(if added.is_empty() {
        OwnerUpdate::Nothing(owner)
    } else {
        OwnerUpdate::Adds(owner, added)
    })
}

/// The import error for a line whose address or number is already in the file.
pub(crate) fn already_subscribed(line: usize) -> LineError {
    LineError {
        line,
        field: "email".into(),
        message: "Cette adresse ou ce numéro est déjà inscrit.".into(),
    }
}

/// A subscriber from a line of an imported file: a paper form's, marked as imported.
pub(crate) fn imported_subscriber(
    id: SubscriberId,
    signup: Signup,
    by: &StaffIdentity,
    reference: &str,
    now: DateTime<Utc>,
) -> Subscriber {
    let mut sub = paper_subscriber(id, signup, by, reference, None, now);
    if let ConsentSource::Paper { imported, .. } = &mut sub.consent.source {
        *imported = true;
    }
    sub
}

/// A subscriber typed in from a paper form (or a line of an import): active at once.
pub(crate) fn paper_subscriber(
    id: SubscriberId,
    signup: Signup,
    by: &StaffIdentity,
    reference: &str,
    place: Option<String>,
    now: DateTime<Utc>,
) -> Subscriber {
    Subscriber {
        id,
        email: signup.email,
        phone: signup.phone,
        choices: signup.choices,
        zones: signup.zones,
        state: SubscriberState::Active,
        language: "fr".into(),
        consent: Consent {
            source: ConsentSource::Paper {
                staff_id: by.id.clone(),
                form_reference: reference.to_owned(),
                place,
                imported: false,
            },
            at: now,
            wording_version: CONSENT_WORDING_VERSION.into(),
        },
        created_at: now,
        updated_at: now,
    }
}

/// The ports the subscriber file works on, named so that none can be passed for another.
pub struct SubscriberFileDeps {
    /// Where subscribers are kept.
    pub subscribers: Arc<dyn SubscriberStore>,
    /// Search over the file (staff search, export, duplicate checks).
    pub reports: Arc<dyn SubscriberReports>,
    /// The topics a subscriber may choose.
    pub topics: Arc<dyn TopicStore>,
    /// Monthly counters (sign-ups and departures typed in by staff count too).
    pub stats: Arc<dyn StatsStore>,
    /// The time of consents and changes.
    pub clock: Arc<dyn Clock>,
    /// Addresses and numbers that receive nothing any more.
    pub suppressions: Arc<dyn SuppressionStore>,
    /// The town's zones residents may name on paper.
    pub zones: Arc<dyn crate::ports::ZoneStore>,
}

impl SubscriberFile {
    /// Builds the use cases.
    pub fn new(d: SubscriberFileDeps) -> Self {
        Self {
            subscribers: d.subscribers,
            reports: d.reports,
            topics: d.topics,
            stats: d.stats,
            clock: d.clock,
            suppressions: d.suppressions,
            zones: d.zones,
            welcome: None,
        }
    }

    /// The same, welcoming each resident typed in from a paper form.
    pub fn with_welcome(self, welcome: Welcome) -> Self {
        Self {
            welcome: Some(welcome),
            ..self
        }
    }

    /// The suppressed addresses and numbers, newest first (`redaction` or `admin`).
    pub async fn suppressions(&self, by: &StaffIdentity) -> Result<Vec<Suppression>, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        Ok(self.suppressions.list(1_000).await?)
    }

    /// Lifts a suppression at the person's request (`redaction` or `admin`); `NotFound` when
    /// the address or number is not suppressed.
    pub async fn lift_suppression(
        &self,
        by: &StaffIdentity,
        address: &str,
    ) -> Result<(), DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        if self.suppressions.lift(address.trim()).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound(
                "Cette adresse ou ce numéro n'est pas bloqué.".into(),
            ))
        }
    }

    async fn open_topics(&self) -> Result<Vec<Topic>, DomainError> {
        Ok(crate::ports::open_topics(self.topics.as_ref(), self.clock.now()).await?)
    }

    /// Searches the file. The file's keepers page through it; the front desk looks for one
    /// person before typing a form in: a few characters at least, a few answers, and only the
    /// contact it searched for in full (see [`front_desk_query`] and [`shown`]).
    pub async fn search(
        &self,
        by: &StaffIdentity,
        query: SubscriberQuery,
    ) -> Result<SearchPage, DomainError> {
        by.require_any(&FRONT_DESK)?;
        let query = if keeps_the_file(by) {
            SubscriberQuery {
                limit: query.limit.clamp(1, 500),
                ..query
            }
        } else {
            front_desk_query(query)?
        };
        let items = self
            .reports
            .search(&query)
            .await?
            .into_iter()
            .map(|sub| shown(by, sub, query.text.as_deref()))
            .collect();
        Ok(SearchPage {
            items,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// One subscriber, its contacts as `by` may see them (the front desk: those it typed in).
    pub async fn get(&self, by: &StaffIdentity, id: SubscriberId) -> Result<Shown, DomainError> {
        by.require_any(&FRONT_DESK)?;
        Ok(shown(by, self.find(id).await?, None))
    }

    /// One subscriber's record.
    async fn find(&self, id: SubscriberId) -> Result<Subscriber, DomainError> {
        self.subscribers
            .get(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("Cet abonné n'existe pas.".into()))
    }

    /// Adds a subscriber from a paper form: active at once, paper consent.
    pub async fn add_paper(
        &self,
        by: &StaffIdentity,
        input: &PaperInput,
    ) -> Result<Subscriber, DomainError> {
        by.require_any(&FRONT_DESK)?;
        let signup_input = SignupInput {
            email: input.email.clone(),
            phone: input.phone.clone(),
            subscriptions: input.subscriptions.clone(),
            consent: true,
            zones: input.zones.clone(),
        };
        let reference = input
            .paper_form_reference
            .as_deref()
            .map(str::trim)
            .unwrap_or("");
        let parsed = Signup::parse(&signup_input, &self.open_topics().await?, false);
        let mut errors = parsed
            .as_ref()
            .err()
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        let place = check_paper_proof(by, reference, input.place.as_deref(), &mut errors);
        errors.into_result()?;
        let parsed = parsed.expect("checked above");
        crate::use_cases::zones::check_zones(self.zones.as_ref(), &parsed.zones, "zones").await?;
        let sub = paper_subscriber(
            SubscriberId::new(),
            parsed,
            by,
            reference,
            place.map(str::to_owned),
            self.clock.now(),
        );
        match self.subscribers.insert(&sub).await {
            Err(StoreError::Conflict(_)) if input.add_to_existing => {
                return self.add_to_owner(sub).await;
            }
            other => other.map_err(duplicate)?,
        }
        let origin = SignupOrigin::Paper(place).key();
        self.stats
            .add_signups(Month::of(sub.created_at), &origin, 1)
            .await?;
        if let Some(welcome) = self.welcome.as_ref().filter(|_| input.welcome) {
            welcome
                .send(&sub, &self.open_topics().await?, sub.created_at)
                .await;
        }
        Ok(sub)
    }

    /// Adds the topics of a paper form to the subscriber who already has its address or number.
    /// Anyone who types forms may do it (the signed form is the consent to the new topics), as
    /// it only adds: a form whose contacts differ from the entry's, or an entry that is not
    /// active, goes to the communication service instead.
    async fn add_to_owner(&self, form: Subscriber) -> Result<Subscriber, DomainError> {
        let ask = |message: &str| {
            let mut f = FieldErrors::new();
            f.add("email", message);
            f.add("phone", message);
            DomainError::Validation(f)
        };
        match owner_update(self.subscribers.as_ref(), &form).await? {
            // Gone between the insert and the search: the form can be added again.
            OwnerUpdate::Gone => Err(duplicate(StoreError::Conflict("gone".into()))),
            OwnerUpdate::Refused(why) => Err(ask(why)),
            OwnerUpdate::Nothing(owner) => Ok(owner),
            OwnerUpdate::Adds(mut owner, added) => {
                let mut choices = owner.choices.clone();
                choices.extend(added);
                owner.set_choices(choices, self.clock.now());
                self.subscribers.update(&owner).await.map_err(|e| match e {
                    StoreError::Conflict(_) => DomainError::Conflict(
                        "Cet abonné vient d'être modifié par ailleurs : recommencez.".into(),
                    ),
                    other => other.into(),
                })?;
                Ok(owner)
            }
        }
    }

    /// Changes contacts and choices. No choice left means unsubscribed. The front desk corrects
    /// only the forms it typed in.
    pub async fn edit(
        &self,
        by: &StaffIdentity,
        id: SubscriberId,
        input: &EditInput,
    ) -> Result<Subscriber, DomainError> {
        by.require_any(&FRONT_DESK)?;
        let mut sub = self.find(id).await?;
        may_edit(by, &sub)?;
        let read_at = sub.updated_at;
        let mut errors = FieldErrors::new();
        let email = input
            .email
            .clone()
            .or_else(|| sub.email.as_ref().map(|e| e.to_string()));
        let phone = input
            .phone
            .clone()
            .or_else(|| sub.phone.as_ref().map(|p| p.to_string()));
        let contacts = parse_contacts(&email, &phone, &mut errors);
        let choices = if input.subscriptions.iter().all(|s| s.channels.is_empty()) {
            BTreeSet::new()
        } else {
            parse_choices(
                &input.subscriptions,
                &self.open_topics().await?,
                contacts.email.is_some(),
                contacts.phone.is_some(),
                &mut errors,
            )
        };
        errors.into_result()?;
        sub.email = contacts.email;
        sub.phone = contacts.phone;
        let counter = sub.set_choices(choices, self.clock.now());
        self.save_edit(&sub, read_at).await?;
        let month = Month::of(sub.updated_at);
        match counter {
            Some(Counter::SignUps) => {
                let staff = SignupOrigin::Staff.key();
                self.stats.add_signups(month, &staff, 1).await?
            }
            Some(counter) => self.stats.add(month, counter, 1).await?,
            None => {}
        }
        Ok(sub)
    }

    /// Saves an edited subscriber read at `read_at`. A conflict is either another person's
    /// address, or this subscriber changed since it was read (a resident or another agent at
    /// the same moment): which one, the record says.
    async fn save_edit(&self, sub: &Subscriber, read_at: DateTime<Utc>) -> Result<(), DomainError> {
        let id = sub.id;
        match self.subscribers.update(sub).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(what)) => Err(match self.subscribers.get(id).await? {
                Some(now) if now.updated_at != read_at => DomainError::Conflict(
                    "Cet abonné vient d'être modifié par ailleurs : rechargez-le avant de le corriger.".into(),
                ),
                Some(_) => duplicate(StoreError::Conflict(what)),
                None => StoreError::NotFound(format!("subscriber {id}")).into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Erases a subscriber for good (RGPD): only anonymous counters remain.
    pub async fn erase(&self, by: &StaffIdentity, id: SubscriberId) -> Result<(), DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let sub = self.find(id).await?;
        self.subscribers.delete(id).await?;
        if let Some(counter) = sub.erasure() {
            self.stats
                .add(Month::of(self.clock.now()), counter, 1)
                .await?;
        }
        Ok(())
    }

    /// Imports a spreadsheet export of at most [`MAX_SYNC_IMPORT_BYTES`]. Every line is checked
    /// first; lines whose address is already in the file are refused, so an import never creates
    /// duplicates.
    pub async fn import(
        &self,
        by: &StaffIdentity,
        bytes: &[u8],
        mode: ImportMode,
        dry_run: bool,
    ) -> Result<ImportReport, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        if bytes.len() > MAX_SYNC_IMPORT_BYTES {
            return Err(FieldErrors::single("file", too_big_for_one_request()));
        }
        let check = check_import(bytes, &self.open_topics().await?).map_err(|e| {
            FieldErrors::single("file", format!("Ligne {} : {}", e.line, e.message))
        })?;
        let mut errors = check.errors;
        let ready = self.not_on_file(check.valid, &mut errors).await?;
        let lines = ready.len() + errors.iter().map(|e| e.line).collect::<BTreeSet<_>>().len();
        if dry_run || (mode == ImportMode::AllOrNothing && !errors.is_empty()) {
            return Ok(ImportReport::new(lines, 0, true, errors));
        }
        let imported = self.insert_lines(by, ready, &mut errors).await?;
        if imported > 0 {
            let import = SignupOrigin::Import.key();
            self.stats
                .add_signups(Month::of(self.clock.now()), &import, imported as i64)
                .await?;
        }
        Ok(ImportReport::new(lines, imported, imported == 0, errors))
    }

    /// The lines whose address and number are not on file yet; the others are refused into
    /// `errors`.
    async fn not_on_file(
        &self,
        lines: Vec<ImportLine>,
        errors: &mut Vec<LineError>,
    ) -> Result<Vec<ImportLine>, DomainError> {
        let mut ready = Vec::new();
        for line in lines {
            let mut known = false;
            if let Some(e) = &line.signup.email {
                known |= self.subscribers.find_by_email(e).await?.is_some();
            }
            if let Some(p) = &line.signup.phone {
                known |= self.subscribers.find_by_phone(p).await?.is_some();
            }
            if known {
                errors.push(already_subscribed(line.line));
            } else {
                ready.push(line);
            }
        }
        Ok(ready)
    }

    /// Creates a subscriber per line; returns how many were created, a line added by someone
    /// else since the check being refused into `errors` (never duplicated).
    async fn insert_lines(
        &self,
        by: &StaffIdentity,
        ready: Vec<ImportLine>,
        errors: &mut Vec<LineError>,
    ) -> Result<usize, DomainError> {
        let mut imported = 0;
        let numbers: Vec<usize> = ready.iter().map(|l| l.line).collect();
        let subs: Vec<Subscriber> = ready
            .into_iter()
            .map(|line| {
                imported_subscriber(
                    SubscriberId::new(),
                    line.signup,
                    by,
                    &line.form_reference,
                    self.clock.now(),
                )
            })
            .collect();
        for (line, answer) in numbers
            .into_iter()
            .zip(self.subscribers.insert_many(&subs).await?)
        {
            match answer {
                Ok(()) => imported += 1,
                Err(StoreError::Conflict(_)) => errors.push(already_subscribed(line)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(imported)
    }

    /// The whole file as CSV for spreadsheets, read in one pass (pages by offset would read the
    /// file again for each page: quadratic on DynamoDB).
    pub async fn export(&self, by: &StaffIdentity) -> Result<Vec<u8>, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let all = self
            .reports
            .search(&SubscriberQuery {
                limit: usize::MAX,
                ..Default::default()
            })
            .await?;
        Ok(export_csv(&all, &self.topics.list().await?))
    }
}

/// The proof of a paper form's consent: its reference, and the place it was handed in
/// (required from the front desk alone); the place, trimmed, when given.
fn check_paper_proof<'a>(
    by: &StaffIdentity,
    reference: &str,
    place: Option<&'a str>,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    if reference.is_empty() || reference.chars().count() > 100 {
        errors.add("paper_form_reference", "Indiquez la référence du formulaire papier (100 caractères au plus) : c'est la preuve du consentement.");
    }
    let place = place.map(str::trim).filter(|p| !p.is_empty());
    let front_desk_only = !keeps_the_file(by);
    if place.is_some_and(|p| p.chars().count() > 100) || (place.is_none() && front_desk_only) {
        errors.add("place", "Indiquez le lieu où le formulaire a été remis (mairie, maison de quartier…), 100 caractères au plus.");
    }
    place
}

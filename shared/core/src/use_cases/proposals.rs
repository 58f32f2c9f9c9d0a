//! The town's departments propose, the communication service selects: a `service` member
//! proposes, edits or withdraws their own proposals; `redaction` takes one or several into a
//! draft campaign, or declines with a reason; the proposer is told by email of each outcome and
//! when the campaign that carries their proposal has been sent. Statistics by department.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::clock::{town_date, Clock};
use crate::domain::campaign::{Campaign, CampaignId, CampaignStatus};
use crate::domain::notices::StaffNotice;
use crate::domain::proposal::{
    draft_from, Proposal, ProposalFields, ProposalId, ProposalInput, ProposalStatus, SentFigures,
};
use crate::domain::staff::{Role, StaffIdentity};
use crate::error::{DomainError, SendError, StoreError};
use crate::ports::{open_topics, CampaignStore, EmailSender, ProposalStore, TopicStore};
use crate::render::messages::{proposal_email, EmailLayout};
use crate::use_cases::campaigns::Campaigns;
use crate::use_cases::staff_notices::wants;
use crate::use_cases::statistics::period;

/// Who reads the inbox and decides.
const SELECTORS: [Role; 2] = [Role::Redaction, Role::Admin];
/// Who reads the statistics by department.
const READERS: [Role; 3] = [Role::Redaction, Role::Admin, Role::Cabinet];
/// How far back the lists go.
const LISTED_DAYS: i64 = 366;

/// Figures of one department over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DepartmentFigures {
    pub department: String,
    pub received: u64,
    /// Taken into a campaign (sent ones included).
    pub taken: u64,
    pub declined: u64,
    pub withdrawn: u64,
    pub sent: u64,
    /// Average days from proposal to sending, over those sent.
    pub days_to_send: Option<f64>,
}

/// The ports proposals work on.
pub struct ProposalsDeps {
    pub proposals: Arc<dyn ProposalStore>,
    pub topics: Arc<dyn TopicStore>,
    pub campaign_store: Arc<dyn CampaignStore>,
    /// Drafts are created as any campaign is.
    pub campaigns: Arc<Campaigns>,
    /// Proposers are told by email.
    pub email: Arc<dyn EmailSender>,
    pub layout: Arc<EmailLayout>,
    pub clock: Arc<dyn Clock>,
    /// Where links in the emails point.
    pub public_url: String,
    /// Which notices each staff account turned off.
    pub notice_settings: Arc<dyn crate::ports::NoticeSettingsStore>,
}

/// What was sent for a proposal: the carrying campaign's messages as residents received them.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessages {
    /// The campaign that carried the proposal.
    pub campaign: CampaignId,
    /// Its title (internal, never sent).
    pub title: String,
    /// `sending` or `sent`.
    pub status: CampaignStatus,
    /// The SMS and the email.
    #[serde(flatten)]
    pub messages: crate::use_cases::campaigns::Preview,
}

/// Proposals use cases.
pub struct Proposals {
    d: ProposalsDeps,
}

fn not_found() -> DomainError {
    DomainError::NotFound("Cette proposition n'existe pas.".into())
}

impl Proposals {
    pub fn new(d: ProposalsDeps) -> Self {
        Self { d }
    }

    fn now(&self) -> DateTime<Utc> {
        self.d.clock.now()
    }

    async fn fields(&self, input: &ProposalInput) -> Result<ProposalFields, DomainError> {
        let open = open_topics(self.d.topics.as_ref(), self.now()).await?;
        ProposalFields::parse(input, &open, town_date(self.now()))
    }

    async fn load(&self, id: ProposalId) -> Result<Proposal, DomainError> {
        self.d.proposals.proposal(id).await?.ok_or_else(not_found)
    }

    /// A proposal its author may change: theirs (another's reads as absent).
    async fn own(&self, by: &StaffIdentity, id: ProposalId) -> Result<Proposal, DomainError> {
        by.require(Role::Service)?;
        let p = self.load(id).await?;
        if p.proposer.id != by.id {
            return Err(not_found());
        }
        Ok(p)
    }

    async fn save(&self, p: &Proposal, read: u32) -> Result<(), DomainError> {
        match self.d.proposals.update_proposal(p, read).await {
            Err(StoreError::Conflict(_)) => Err(DomainError::Conflict(
                "Cette proposition vient d'être modifiée par ailleurs : rechargez la page.".into(),
            )),
            other => Ok(other?),
        }
    }

    /// A `service` member proposes an information for their department.
    pub async fn propose(
        &self,
        by: &StaffIdentity,
        input: &ProposalInput,
    ) -> Result<Proposal, DomainError> {
        by.require(Role::Service)?;
        let Some(department) = by.department.as_deref().filter(|d| !d.trim().is_empty()) else {
            return Err(DomainError::Forbidden(
                "Votre compte n'indique pas votre service : demandez à l'administrateur de l'ajouter.".into(),
            ));
        };
        let p = Proposal::new(self.fields(input).await?, by, department, self.now());
        self.d.proposals.insert_proposal(&p).await?;
        Ok(p)
    }

    /// The author's own proposals, newest first, each as it stands (a carried campaign sent
    /// since shows as sent).
    pub async fn mine(&self, by: &StaffIdentity) -> Result<Vec<Proposal>, DomainError> {
        by.require(Role::Service)?;
        let mut mine: Vec<Proposal> = self
            .listed()
            .await?
            .into_iter()
            .filter(|p| p.proposer.id == by.id)
            .collect();
        for p in &mut mine {
            self.follow(p).await?;
        }
        Ok(mine)
    }

    /// One proposal: its author's, or any for the communication service.
    pub async fn get(&self, by: &StaffIdentity, id: ProposalId) -> Result<Proposal, DomainError> {
        if SELECTORS.iter().any(|r| by.has(*r)) {
            return self.load(id).await;
        }
        self.own(by, id).await
    }

    /// What was finally sent for a proposal: the SMS and the email of the campaign that
    /// carried it, as residents received them (its author, or the communication service). Only
    /// once the campaign has left: before, what it will say can still change.
    pub async fn sent_messages(
        &self,
        by: &StaffIdentity,
        id: ProposalId,
    ) -> Result<SentMessages, DomainError> {
        let p = self.get(by, id).await?;
        let Some(campaign) = p.campaign else {
            return Err(DomainError::Conflict(
                "Cette proposition n'a pas été reprise dans une campagne : rien n'a été envoyé pour elle."
                    .into(),
            ));
        };
        let c = self.d.campaign_store.get(campaign).await?.ok_or_else(|| {
            DomainError::NotFound("La campagne de cette proposition n'existe plus.".into())
        })?;
        if !matches!(c.status(), CampaignStatus::Sending | CampaignStatus::Sent) {
            return Err(DomainError::Conflict(
                "La campagne qui reprend cette proposition n'est pas encore partie : son texte peut encore changer."
                    .into(),
            ));
        }
        let messages = self.d.campaigns.as_received(&c)?;
        Ok(SentMessages {
            status: c.status(),
            campaign: c.id,
            title: c.title,
            messages,
        })
    }

    /// Its author replaces it while nobody has taken it.
    pub async fn edit(
        &self,
        by: &StaffIdentity,
        id: ProposalId,
        input: &ProposalInput,
    ) -> Result<Proposal, DomainError> {
        let mut p = self.own(by, id).await?;
        let read = p.version;
        p.edit(self.fields(input).await?, self.now())?;
        self.save(&p, read).await?;
        Ok(p)
    }

    /// Its author withdraws it while nobody has taken it.
    pub async fn withdraw(
        &self,
        by: &StaffIdentity,
        id: ProposalId,
    ) -> Result<Proposal, DomainError> {
        let mut p = self.own(by, id).await?;
        let read = p.version;
        p.withdraw(self.now())?;
        self.save(&p, read).await?;
        Ok(p)
    }

    /// The communication service's inbox: new proposals first (soonest date first), then the
    /// others newest first.
    pub async fn inbox(&self, by: &StaffIdentity) -> Result<Vec<Proposal>, DomainError> {
        by.require_any(&SELECTORS)?;
        let mut all = self.listed().await?;
        all.sort_by(|a, b| {
            let new = |p: &Proposal| p.status != ProposalStatus::New;
            new(a).cmp(&new(b)).then_with(|| {
                if a.status == ProposalStatus::New {
                    (
                        a.fields.matters_on.is_none(),
                        a.fields.matters_on,
                        a.created_at,
                    )
                        .cmp(&(
                            b.fields.matters_on.is_none(),
                            b.fields.matters_on,
                            b.created_at,
                        ))
                } else {
                    b.created_at.cmp(&a.created_at)
                }
            })
        });
        Ok(all)
    }

    /// Takes one proposal, or merges several, into a new draft campaign; their authors are told.
    pub async fn take(
        &self,
        by: &StaffIdentity,
        ids: &[ProposalId],
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Redaction)?;
        if ids.is_empty() {
            return Err(crate::error::FieldErrors::single(
                "ids",
                "Choisissez au moins une proposition.",
            ));
        }
        let mut chosen = Vec::new();
        for id in ids {
            let p = self.load(*id).await?;
            if p.status != ProposalStatus::New {
                return Err(DomainError::Conflict(format!(
                    "La proposition « {} » n'est plus nouvelle : rechargez la page.",
                    p.fields.title
                )));
            }
            if !chosen.iter().any(|c: &Proposal| c.id == p.id) {
                chosen.push(p);
            }
        }
        let campaign = self.d.campaigns.create(by, &draft_from(&chosen)).await?;
        for mut p in chosen {
            let read = p.version;
            p.take(campaign.id, by, self.now())?;
            self.save(&p, read).await?;
            let detail = format!(
                "Le service communication l'a reprise dans la campagne « {} » ; vous serez prévenu(e) de son envoi.",
                campaign.title
            );
            self.tell(&p, "a été retenue", &detail).await;
        }
        Ok(campaign)
    }

    /// Declines a proposal with a reason its author is told.
    pub async fn decline(
        &self,
        by: &StaffIdentity,
        id: ProposalId,
        reason: &str,
    ) -> Result<Proposal, DomainError> {
        by.require_any(&SELECTORS)?;
        let mut p = self.load(id).await?;
        let read = p.version;
        p.decline(reason, by, self.now())?;
        self.save(&p, read).await?;
        let detail = format!(
            "Raison donnée par le service communication : {}",
            reason.trim()
        );
        self.tell(&p, "n'a pas été retenue", &detail).await;
        Ok(p)
    }

    /// Marks sent the taken proposals whose campaign has been sent, and tells their authors
    /// (run on the schedule; also when an author lists theirs). Gives how many.
    pub async fn follow_up(&self) -> Result<usize, DomainError> {
        let mut told = 0;
        for mut p in self.listed().await? {
            if self.follow(&mut p).await? {
                told += 1;
            }
        }
        Ok(told)
    }

    /// Marks one taken proposal sent when its campaign is; true when it changed here.
    async fn follow(&self, p: &mut Proposal) -> Result<bool, DomainError> {
        let (ProposalStatus::Taken, Some(id)) = (p.status, p.campaign) else {
            return Ok(false);
        };
        let Some(campaign) = self.d.campaign_store.get(id).await? else {
            return Ok(false);
        };
        if campaign.status() != CampaignStatus::Sent {
            return Ok(false);
        }
        let progress = self.d.campaign_store.progress(id).await?;
        let figures = SentFigures {
            emails: progress.totals.email.sent,
            sms: progress.totals.sms.sent,
        };
        let read = p.version;
        p.mark_sent(figures, campaign.updated_at, self.now());
        match self.d.proposals.update_proposal(p, read).await {
            Ok(()) => {}
            // Marked by another run meanwhile: it told the author.
            Err(StoreError::Conflict(_)) => {
                *p = self.load(p.id).await?;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        let detail = format!(
            "La campagne « {} » est partie : {} courriel(s) et {} SMS envoyés.",
            campaign.title, figures.emails, figures.sms
        );
        self.tell(p, "a été envoyée aux abonnés", &detail).await;
        Ok(true)
    }

    /// Proposals made in the months `from` to `to` (`YYYY-MM` or a date in the month; default
    /// January to this month), by department: received, taken, declined, withdrawn, sent, and
    /// the average days from proposal to sending.
    pub async fn stats(
        &self,
        by: &StaffIdentity,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<DepartmentFigures>, DomainError> {
        by.require_any(&READERS)?;
        let (from, to) = period(from, to, self.now())?;
        let (from, to) = (from.start(), to.end());
        let mut out: BTreeMap<String, (DepartmentFigures, Vec<f64>)> = BTreeMap::new();
        for p in self.d.proposals.proposals_since(from).await? {
            if p.created_at >= to {
                continue;
            }
            let (f, delays) = out.entry(p.department.clone()).or_insert_with(|| {
                (
                    DepartmentFigures {
                        department: p.department.clone(),
                        ..Default::default()
                    },
                    Vec::new(),
                )
            });
            f.received += 1;
            match p.status {
                ProposalStatus::Taken => f.taken += 1,
                ProposalStatus::Sent => {
                    f.taken += 1;
                    f.sent += 1;
                    if let Some(at) = p.sent_at {
                        delays.push((at - p.created_at).num_seconds() as f64 / 86_400.0);
                    }
                }
                ProposalStatus::Declined => f.declined += 1,
                ProposalStatus::Withdrawn => f.withdrawn += 1,
                ProposalStatus::New => {}
            }
        }
        Ok(out
            .into_values()
            .map(|(mut f, delays)| {
                if !delays.is_empty() {
                    f.days_to_send = Some(delays.iter().sum::<f64>() / delays.len() as f64);
                }
                f
            })
            .collect())
    }

    async fn listed(&self) -> Result<Vec<Proposal>, DomainError> {
        Ok(self
            .d
            .proposals
            .proposals_since(self.now() - Duration::days(LISTED_DAYS))
            .await?)
    }

    /// Emails the proposer; a failure is logged (without the address), never fatal: the
    /// proposal's page shows the same news.
    async fn tell(&self, p: &Proposal, news: &str, detail: &str) {
        let Some(to) = &p.proposer.email else {
            return;
        };
        if !wants(
            self.d.notice_settings.as_ref(),
            &p.proposer.id,
            StaffNotice::ProposalEmail,
        )
        .await
        {
            return;
        }
        let url = format!("{}/admin/propositions", self.d.public_url);
        let content = proposal_email(&p.fields.title, news, detail, &url);
        let sent = match self.d.layout.compose(to, content, None) {
            Ok(email) => self.d.email.send_email(&email).await.map(|_| ()),
            Err(e) => Err(SendError::Permanent(e.to_string())),
        };
        if let Err(e) = sent {
            let why = match e {
                SendError::Transient(_) | SendError::Throttled(_) => "temporary",
                SendError::Paused(_) => "paused",
                SendError::Permanent(_) => "refused",
                SendError::Unknown(_) => "unknown",
            };
            tracing::warn!(proposal = %p.id, why, "proposer not told by email");
        }
    }
}

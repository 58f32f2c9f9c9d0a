//! The crisis cell: its members (kept by `admin`, read by `cabinet` and `admin`), the alert
//! that texts and calls them in one action, and the live view of who was reached and who
//! answered.
//!
//! An alert is an urgent campaign of kind [`CampaignKind::CellAlert`] that asks for an answer,
//! created already sending by the staff member acting (no approval: the cabinet or an
//! administrator is the one who would approve it). Instead of a fan-out over a topic's
//! subscribers, its messages are recorded queued here, one per member and channel, and their
//! jobs go to the urgent lane: the normal sending path (pacing, claims, retries, outbox or
//! providers) does the rest, and the sender reads the members' numbers from the cell.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::domain::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::domain::cell::{
    self, CellAlertInput, CellMember, CellMemberInput, CellView, CellViewInput, MAX_MEMBERS,
};
use crate::domain::contact::{Address, Channel};
use crate::domain::delivery::{CreateOutcome, Delivery, DeliveryKey};
use crate::domain::reach::PersonState;
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::subscriber::SubscriberId;
use crate::error::DomainError;
use crate::ports::{CampaignStore, CellStore, DeliveryStore, JobQueue, ReachStore};
use crate::use_cases::crisis::{queue_recorded, queued_records, Resend};

/// Who sees the cell and alerts it.
const CELL_ROLES: [Role; 2] = [Role::Cabinet, Role::Admin];

/// Deliveries read per page for the view.
const PAGE: usize = 1000;

/// Campaigns looked through for the list of recent alerts of the cell.
const RECENT_CAMPAIGNS: usize = 500;

/// Alerts of the cell listed.
const RECENT_ALERTS: usize = 20;

/// What the crisis cell reads and writes.
pub struct CellDeps {
    pub cell: Arc<dyn CellStore>,
    pub campaigns: Arc<dyn CampaignStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub reach: Arc<dyn ReachStore>,
    /// Where the alert's messages are queued (the urgent lane).
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
}

/// The crisis cell's use cases.
pub struct CrisisCell {
    d: CellDeps,
}

/// What an alert of the cell queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellAlertSent {
    /// The alert (a campaign of kind `cell_alert`): its live view's id.
    pub campaign: CampaignId,
    /// Members alerted.
    pub members: u64,
    /// SMS queued (one per member with a mobile).
    pub sms: u64,
    /// Calls queued (one per member with a number).
    pub calls: u64,
}

impl CellAlertSent {
    /// Says in the log what was queued, and by whom (no number, no name).
    fn log(&self, by: &StaffIdentity, what: &'static str) {
        tracing::info!(
            campaign = %self.campaign,
            staff = %by.id,
            members = self.members,
            sms = self.sms,
            calls = self.calls,
            "{what}"
        );
    }
}

/// One past alert of the cell, for the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellAlertSummary {
    pub campaign: CampaignId,
    pub title: String,
    pub sent_by: String,
    pub sent_at: DateTime<Utc>,
    pub status: CampaignStatus,
}

impl CrisisCell {
    /// The use cases over their stores.
    pub fn new(d: CellDeps) -> Self {
        Self { d }
    }

    /// Every member: on duty first, then by name.
    pub async fn members(&self, by: &StaffIdentity) -> Result<Vec<CellMember>, DomainError> {
        by.require_any(&CELL_ROLES)?;
        let mut members = self.d.cell.cell_members().await?;
        members.sort_by(|a, b| {
            b.on_duty
                .cmp(&a.on_duty)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(members)
    }

    /// Adds a member (`admin`).
    pub async fn add(
        &self,
        by: &StaffIdentity,
        input: &CellMemberInput,
    ) -> Result<CellMember, DomainError> {
        by.require(Role::Admin)?;
        let fields = input.parse()?;
        if self.d.cell.cell_members().await?.len() >= MAX_MEMBERS {
            return Err(DomainError::Conflict(format!(
                "La cellule de crise compte déjà {MAX_MEMBERS} membres, le plus qu'elle puisse compter."
            )));
        }
        let member = fields.into_member(self.d.clock.now());
        self.d.cell.insert_cell_member(&member).await?;
        tracing::info!(member = %member.id, staff = %by.id, "crisis cell member added");
        Ok(member)
    }

    /// Changes a member (`admin`).
    pub async fn edit(
        &self,
        by: &StaffIdentity,
        id: SubscriberId,
        input: &CellMemberInput,
    ) -> Result<CellMember, DomainError> {
        by.require(Role::Admin)?;
        let fields = input.parse()?;
        let member = self.d.cell.cell_member(id).await?.ok_or_else(not_found)?;
        let member = fields.apply(&member, self.d.clock.now());
        if !self.d.cell.update_cell_member(&member).await? {
            return Err(not_found());
        }
        tracing::info!(member = %id, staff = %by.id, "crisis cell member edited");
        Ok(member)
    }

    /// Removes a member (`admin`), with their answers and the reports on their messages.
    pub async fn remove(&self, by: &StaffIdentity, id: SubscriberId) -> Result<(), DomainError> {
        by.require(Role::Admin)?;
        if !self.d.cell.delete_cell_member(id).await? {
            return Err(not_found());
        }
        tracing::info!(member = %id, staff = %by.id, "crisis cell member removed");
        Ok(())
    }

    /// Alerts the cell (`cabinet` or `admin`): an SMS, carrying the answer link, to every
    /// member with a mobile, and a call to every member with a number (the mobile, else the
    /// landline); to the members on duty alone when asked.
    pub async fn alert(
        &self,
        by: &StaffIdentity,
        input: &CellAlertInput,
    ) -> Result<CellAlertSent, DomainError> {
        by.require_any(&CELL_ROLES)?;
        let (sms, voice) = cell::parse_alert_text(input)?;
        let members: Vec<CellMember> = self
            .d
            .cell
            .cell_members()
            .await?
            .into_iter()
            .filter(|m| m.on_duty || !input.on_duty_only)
            .filter(|m| m.call_number().is_some())
            .collect();
        if members.is_empty() {
            return Err(DomainError::Conflict(if input.on_duty_only {
                "Aucun membre de la cellule de crise n'est d'astreinte : personne à alerter.".into()
            } else {
                "La cellule de crise n'a aucun membre avec un numéro de téléphone : ajoutez-en avant de l'alerter.".into()
            }));
        }
        let now = self.d.clock.now();
        let (campaign, event) = Campaign::cell_alert(sms, voice, by, now);
        self.d.campaigns.insert(&campaign, &event).await?;
        let mut planned: Vec<(DeliveryKey, Address)> = Vec::new();
        for m in &members {
            for channel in [Channel::Sms, Channel::Voice] {
                if let Some(number) = m.number_for(channel) {
                    let key = DeliveryKey {
                        campaign: campaign.id,
                        subscriber: m.id,
                        channel,
                    };
                    planned.push((key, Address::Phone(number.clone())));
                }
            }
        }
        let sent = self.queue(&campaign, planned, members.len(), now).await?;
        sent.log(by, "crisis cell alerted");
        Ok(sent)
    }

    /// Records the messages queued, counts them as the campaign's recipients, and queues
    /// their jobs on the urgent lane.
    async fn queue(
        &self,
        campaign: &Campaign,
        planned: Vec<(DeliveryKey, Address)>,
        members: usize,
        now: DateTime<Utc>,
    ) -> Result<CellAlertSent, DomainError> {
        let news = queued_records(&planned);
        self.d.deliveries.create_batch(&news).await?;
        let how = Resend {
            now,
            follow_up: false,
        };
        let all = planned.into_iter().map(|p| (p, true));
        let delta =
            queue_recorded(&*self.d.campaigns, &*self.d.queue, campaign.id, all, how).await?;
        Ok(CellAlertSent {
            campaign: campaign.id,
            members: members as u64,
            sms: delta.sms.targeted,
            calls: delta.voice.targeted,
        })
    }

    /// The recent alerts of the cell, newest first.
    pub async fn alerts(&self, by: &StaffIdentity) -> Result<Vec<CellAlertSummary>, DomainError> {
        by.require_any(&CELL_ROLES)?;
        Ok(self
            .d
            .campaigns
            .list(None, RECENT_CAMPAIGNS)
            .await?
            .into_iter()
            .filter(|c| c.kind == CampaignKind::CellAlert)
            .take(RECENT_ALERTS)
            .map(|c| CellAlertSummary {
                status: c.status(),
                campaign: c.id,
                title: c.title,
                sent_by: c.author.name,
                sent_at: c.created_at,
            })
            .collect())
    }

    /// The live view of an alert of the cell: each member alerted, reached or not, and their
    /// answer.
    pub async fn view(&self, by: &StaffIdentity, id: CampaignId) -> Result<CellView, DomainError> {
        by.require_any(&CELL_ROLES)?;
        Ok(self.read(id).await?.view)
    }

    /// Alerts again, by SMS and call (`cabinet` or `admin`), the members the alert reached on
    /// no channel, with nothing pending and no answer: each of their messages goes out again,
    /// to the numbers the cell has for them now (a member given a number since gets it on
    /// that channel too). Each message is put back in the queue (or recorded queued) before
    /// its job leaves, so a second click, which finds them pending, queues nothing twice.
    pub async fn follow_up(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<CellAlertSent, DomainError> {
        by.require_any(&CELL_ROLES)?;
        let read = self.read(id).await?;
        if read.campaign.status() == CampaignStatus::Cancelled {
            return Err(DomainError::Conflict(
                "Impossible de relancer : cette alerte a été arrêtée.".into(),
            ));
        }
        let (again, new) = plan_again(&read, id);
        let as_read: Vec<Delivery> = again.iter().map(|(_, d)| d.clone()).collect();
        let moved = self.d.deliveries.send_again(&as_read).await?;
        let news = queued_records(&new);
        let created = self.d.deliveries.create_batch(&news).await?;
        let planned: Vec<((DeliveryKey, Address), bool)> = again
            .into_iter()
            .map(|(planned, _)| planned)
            .zip(moved)
            .chain(
                new.into_iter()
                    .zip(created.into_iter().map(|c| c == CreateOutcome::Created)),
            )
            .collect();
        let members = planned
            .iter()
            .filter(|(_, recorded)| *recorded)
            .map(|((key, _), _)| key.subscriber)
            .collect::<BTreeSet<_>>()
            .len();
        let how = Resend {
            now: self.d.clock.now(),
            follow_up: false,
        };
        let queued = queue_recorded(&*self.d.campaigns, &*self.d.queue, id, planned, how).await?;
        let sent = CellAlertSent {
            campaign: id,
            members: members as u64,
            sms: queued.sms.targeted,
            calls: queued.voice.targeted,
        };
        sent.log(by, "crisis cell alerted again");
        Ok(sent)
    }

    /// Reads an alert of the cell, its messages and the members, and builds its live view.
    async fn read(&self, id: CampaignId) -> Result<Read, DomainError> {
        let campaign = self
            .d
            .campaigns
            .get(id)
            .await?
            .filter(|c| c.kind == CampaignKind::CellAlert)
            .ok_or_else(|| {
                DomainError::NotFound("Cette alerte de la cellule de crise n'existe pas.".into())
            })?;
        let mut deliveries: Vec<Delivery> = Vec::new();
        loop {
            let after = deliveries.last().map(|d| d.key);
            let page = self.d.deliveries.list_after(id, after, PAGE).await?;
            let full = page.len() == PAGE;
            deliveries.extend(page);
            if !full {
                break;
            }
        }
        let reports = self.d.reach.reach_reports(id).await?;
        let acknowledgements = self.d.reach.acknowledgements(id).await?;
        let members = self.d.cell.cell_members().await?;
        let view = cell::cell_view(CellViewInput {
            campaign: &campaign,
            deliveries: &deliveries,
            reports: &reports,
            acknowledgements: &acknowledgements,
            members: &members,
            now: self.d.clock.now(),
        });
        Ok(Read {
            campaign,
            deliveries,
            members,
            view,
        })
    }
}

/// An alert of the cell as read for its view and its follow-up.
struct Read {
    campaign: Campaign,
    deliveries: Vec<Delivery>,
    members: Vec<CellMember>,
    view: CellView,
}

fn not_found() -> DomainError {
    DomainError::NotFound("Ce membre de la cellule de crise n'existe pas.".into())
}

/// A message planned: its delivery and the number it goes to.
type Planned = (DeliveryKey, Address);

/// The messages a follow-up sends, to each member the alert reached on no channel, on each
/// channel the cell has a number for: those sent before, as read (to go back to the queue),
/// and those never recorded (a number given since).
fn plan_again(read: &Read, id: CampaignId) -> (Vec<(Planned, Delivery)>, Vec<Planned>) {
    let not_reached: Vec<&CellMember> = read
        .view
        .members
        .iter()
        .filter(|p| p.state == PersonState::NotReached)
        .filter_map(|p| read.members.iter().find(|m| m.id == p.member))
        .collect();
    let mut again: Vec<(Planned, Delivery)> = Vec::new();
    let mut new: Vec<Planned> = Vec::new();
    for m in &not_reached {
        for channel in [Channel::Sms, Channel::Voice] {
            let Some(number) = m.number_for(channel) else {
                continue;
            };
            let key = DeliveryKey {
                campaign: id,
                subscriber: m.id,
                channel,
            };
            let address = Address::Phone(number.clone());
            match read.deliveries.iter().find(|d| d.key == key) {
                Some(d) => again.push(((key, address), d.clone())),
                None => new.push((key, address)),
            }
        }
    }
    (again, new)
}

//! The crisis view of an urgent campaign: who was reached, who answered « en sécurité » or
//! « besoin d'aide », by zone; the list of people to call back or visit (printable, as CSV);
//! and the follow-up that sends the message again, by another channel, to those not reached.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::domain::campaign::{Campaign, CampaignId, CampaignStatus};
use crate::domain::contact::{Address, Channel};
use crate::domain::delivery::{
    ChannelCounts, CreateOutcome, Delivery, DeliveryKey, DeliveryStatus, NewDelivery, ProgressDelta,
};
use crate::domain::queue::{DeliverJob, Job, KnownAddress};
use crate::domain::reach::{self, CrisisInput, CrisisView, PersonState};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::subscriber::{Subscriber, SubscriberId};
use crate::error::DomainError;
use crate::ports::{AudienceStore, CampaignStore, DeliveryStore, JobQueue, ReachStore, ZoneStore};

/// Who sees the crisis view: the roles that read the subscriber file in full (it lists
/// people's contacts).
const FILE_KEEPERS: [Role; 2] = [Role::Redaction, Role::Admin];

/// Deliveries read per page while building the view.
const PAGE: usize = 1000;

/// What the crisis view reads and the follow-up writes.
pub struct CrisisDeps {
    pub campaigns: Arc<dyn CampaignStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub audience: Arc<dyn AudienceStore>,
    pub reach: Arc<dyn ReachStore>,
    pub zones: Arc<dyn ZoneStore>,
    /// Where follow-up messages are queued (the urgent lane).
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
}

/// The crisis view and its follow-up.
pub struct Crisis {
    d: CrisisDeps,
}

/// What a follow-up queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// People not reached who get the message again by another channel.
    pub people: u64,
    /// Messages queued, per channel.
    pub email: u64,
    pub sms: u64,
    pub voice: u64,
    /// People not reached with no other channel left (to call back or visit).
    pub no_other_channel: u64,
}

/// Everything the view is built from, read once.
struct Read {
    campaign: Campaign,
    deliveries: Vec<Delivery>,
    people: Vec<Subscriber>,
    view: CrisisView,
}

impl Crisis {
    /// The use case over its stores.
    pub fn new(d: CrisisDeps) -> Self {
        Self { d }
    }

    /// The crisis view of an urgent campaign, as it stands now.
    pub async fn view(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<CrisisView, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        Ok(self.read(id).await?.view)
    }

    /// The list of people to call back, as CSV.
    pub async fn callbacks_csv(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<Vec<u8>, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let read = self.read(id).await?;
        tracing::info!(campaign = %id, staff = %by.id, people = read.view.callbacks.len(), "crisis call-back list exported");
        Ok(reach::callbacks_csv(&read.view))
    }

    /// Sends the campaign again to the people no message reached (nothing pending, no
    /// answer), on each channel the campaign has a message for, that was not tried for
    /// them, and that they have a contact for (SMS to a mobile only). Each such message is
    /// recorded queued before its job leaves, so a second click queues nothing twice.
    pub async fn follow_up(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<FollowUp, DomainError> {
        by.require_any(&FILE_KEEPERS)?;
        let read = self.read(id).await?;
        if !matches!(
            read.campaign.status(),
            CampaignStatus::Sending | CampaignStatus::Sent
        ) {
            return Err(DomainError::Conflict(format!(
                "Impossible de relancer : la campagne est {}.",
                read.campaign.status().label()
            )));
        }
        let now = self.d.clock.now();
        let mut outcome = FollowUp::default();
        let planned = plan_follow_up(&read, &mut outcome);
        let jobs = self.queue_follow_up(id, planned, now, &mut outcome).await?;
        tracing::info!(campaign = %id, staff = %by.id, messages = jobs, "crisis follow-up queued");
        Ok(outcome)
    }

    /// Records the planned messages queued (those not recorded before) and queues their jobs;
    /// returns how many were queued.
    async fn queue_follow_up(
        &self,
        id: CampaignId,
        planned: Vec<(DeliveryKey, Address)>,
        now: DateTime<Utc>,
        outcome: &mut FollowUp,
    ) -> Result<usize, DomainError> {
        let news = queued_records(&planned);
        let created = self.d.deliveries.create_batch(&news).await?;
        let recorded = created.into_iter().map(|c| c == CreateOutcome::Created);
        let queued = queue_recorded(
            &*self.d.campaigns,
            &*self.d.queue,
            id,
            planned.into_iter().zip(recorded),
            Resend {
                now,
                follow_up: true,
            },
        )
        .await?;
        outcome.email += queued.email.targeted;
        outcome.sms += queued.sms.targeted;
        outcome.voice += queued.voice.targeted;
        Ok((queued.email.targeted + queued.sms.targeted + queued.voice.targeted) as usize)
    }

    /// Reads the campaign, its deliveries, reports, answers and people, and builds the view.
    async fn read(&self, id: CampaignId) -> Result<Read, DomainError> {
        let campaign = self
            .d
            .campaigns
            .get(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("Cette campagne n'existe pas.".into()))?;
        if !campaign.urgent {
            return Err(DomainError::Conflict(
                "La vue de crise ne concerne que les campagnes urgentes.".into(),
            ));
        }
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
        let ids: Vec<SubscriberId> = deliveries
            .iter()
            .map(|d| d.key.subscriber)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let people = self.d.audience.get_many(&ids).await?;
        let reports = self.d.reach.reach_reports(id).await?;
        let acknowledgements = self.d.reach.acknowledgements(id).await?;
        let zones = self.d.zones.zones().await?;
        let view = reach::crisis_view(CrisisInput {
            campaign: id,
            title: &campaign.title,
            acknowledgement: campaign.acknowledgement,
            deliveries: &deliveries,
            reports: &reports,
            acknowledgements: &acknowledgements,
            people: &people,
            zones: &zones,
            now: self.d.clock.now(),
        });
        Ok(Read {
            campaign,
            deliveries,
            people,
            view,
        })
    }
}

/// How messages sent again are queued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resend {
    /// When the addresses the jobs carry were read.
    pub now: DateTime<Utc>,
    /// Residents' follow-ups may go by a channel they did not choose for the campaign's
    /// topics; a crisis cell's messages are addressed from the cell, not from choices.
    pub follow_up: bool,
}

/// The records, queued, of the messages planned.
pub(crate) fn queued_records(planned: &[(DeliveryKey, Address)]) -> Vec<NewDelivery> {
    planned
        .iter()
        .map(|(key, _)| NewDelivery {
            key: *key,
            status: DeliveryStatus::Queued,
            error: None,
        })
        .collect()
}

/// Queues on the urgent lane the jobs of the messages of `planned` recorded queued just now
/// (the flag beside each; those recorded before are left, so a second click queues nothing
/// twice), first counting them as the campaign's messages; returns them counted per channel.
pub(crate) async fn queue_recorded(
    campaigns: &dyn CampaignStore,
    queue: &dyn JobQueue,
    id: CampaignId,
    planned: impl IntoIterator<Item = ((DeliveryKey, Address), bool)>,
    how: Resend,
) -> Result<ProgressDelta, DomainError> {
    let mut jobs = Vec::new();
    let mut delta = ProgressDelta::default();
    for ((key, address), recorded) in planned {
        if !recorded {
            continue;
        }
        let counts: &mut ChannelCounts = match key.channel {
            Channel::Email => &mut delta.email,
            Channel::Sms => &mut delta.sms,
            Channel::Voice => &mut delta.voice,
        };
        counts.targeted += 1;
        jobs.push(Job::Deliver(DeliverJob {
            key,
            to: Some(KnownAddress {
                address,
                read_at: how.now,
            }),
            urgent: true,
            follow_up: how.follow_up,
        }));
    }
    if !jobs.is_empty() {
        campaigns.add_progress(id, &delta).await?;
        queue.enqueue(&jobs, std::time::Duration::ZERO).await?;
    }
    Ok(delta)
}

/// The messages a follow-up sends: to each person no message reached, on each of the
/// campaign's channels not tried for them that they have a contact for (SMS to a mobile only).
/// Counts the people in `outcome`.
fn plan_follow_up(read: &Read, outcome: &mut FollowUp) -> Vec<(DeliveryKey, Address)> {
    let not_reached: BTreeSet<SubscriberId> = read
        .view
        .callbacks
        .iter()
        .filter(|p| p.state == PersonState::NotReached)
        .map(|p| p.subscriber)
        .collect();
    let mut tried: BTreeMap<SubscriberId, BTreeSet<Channel>> = BTreeMap::new();
    for d in &read.deliveries {
        tried
            .entry(d.key.subscriber)
            .or_default()
            .insert(d.key.channel);
    }
    let mut planned = Vec::new();
    for person in read.people.iter().filter(|p| not_reached.contains(&p.id)) {
        let before = planned.len();
        for channel in read.campaign.channels() {
            if tried.get(&person.id).is_some_and(|t| t.contains(&channel)) {
                continue;
            }
            let address = match channel {
                Channel::Email => person.email.clone().map(Address::Email),
                Channel::Sms => person
                    .phone
                    .clone()
                    .filter(|p| p.is_mobile())
                    .map(Address::Phone),
                Channel::Voice => person.phone.clone().map(Address::Phone),
            };
            if let Some(address) = address {
                let key = DeliveryKey {
                    campaign: read.campaign.id,
                    subscriber: person.id,
                    channel,
                };
                planned.push((key, address));
            }
        }
        if planned.len() == before {
            outcome.no_other_channel += 1;
        } else {
            outcome.people += 1;
        }
    }
    planned
}

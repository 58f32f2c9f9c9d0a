//! Builds every use case over one backend: the embedded one and the AWS one wire the same way.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::ServiceConfig;
use crate::domain::contact::Channel;
use crate::ports::{
    ArchiveStore, AudienceStore, CampaignStore, CellStore, DeliveryStore, EmailSender, FileDrop,
    FileJobStore, JobQueue, NoticeSettingsStore, OutboxReader, PaceStore, PauseStore,
    ProposalStore, ProviderLimits, QuotaStore, ReachStore, SmsSender, StaffDirectory, StatsStore,
    SubscriberReports, SubscriberStore, SuppressionStore, TopicStore, VoiceSender, WeatherStore,
    ZoneStore,
};
use crate::render::links::Links;
use crate::render::messages::EmailLayout;
use crate::token::TokenSigner;
use crate::use_cases::account::Account;
use crate::use_cases::archive::{Archive, ArchiveDeps};
use crate::use_cases::campaigns::{CampaignDeps, Campaigns};
use crate::use_cases::cell::{CellDeps, CrisisCell};
use crate::use_cases::crisis::{Crisis, CrisisDeps};
use crate::use_cases::dispatch::pacing::{
    DailyQuota, PacedEmail, PacedSms, PacedVoice, Pacer, Pacing,
};
use crate::use_cases::dispatch::{DispatchDeps, Dispatcher};
use crate::use_cases::file_jobs::{FileJobs, FileJobsDeps};
use crate::use_cases::jobs::Jobs;
use crate::use_cases::outbox::OutboxViewer;
use crate::use_cases::proposals::{Proposals, ProposalsDeps};
use crate::use_cases::receipts::Receipts;
use crate::use_cases::residents::{ResidentDeps, Residents};
use crate::use_cases::statistics::{Statistics, StatisticsDeps};
use crate::use_cases::subscriber_file::{SubscriberFile, SubscriberFileDeps};
use crate::use_cases::topics_admin::TopicsAdmin;
use crate::use_cases::weather::{WeatherRelay, WeatherRelayDeps};
use crate::use_cases::welcome::Welcome;
use crate::use_cases::zones::Zones;

/// Every store port at once: what a backend provides.
pub trait Store:
    SubscriberStore
    + AudienceStore
    + SubscriberReports
    + QuotaStore
    + TopicStore
    + StatsStore
    + CampaignStore
    + DeliveryStore
    + SuppressionStore
    + WeatherStore
    + PaceStore
    + PauseStore
    + FileJobStore
    + ProposalStore
    + ArchiveStore
    + ZoneStore
    + ReachStore
    + NoticeSettingsStore
    + CellStore
{
}

impl<T> Store for T where
    T: SubscriberStore
        + AudienceStore
        + SubscriberReports
        + QuotaStore
        + TopicStore
        + StatsStore
        + CampaignStore
        + DeliveryStore
        + SuppressionStore
        + WeatherStore
        + PaceStore
        + PauseStore
        + FileJobStore
        + ProposalStore
        + ArchiveStore
        + ZoneStore
        + ReachStore
        + NoticeSettingsStore
        + CellStore
{
}

/// The providers and settings the use cases are built from.
pub struct Providers<S> {
    pub store: Arc<S>,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Voice call provider.
    pub voice: Arc<dyn VoiceSender>,
    pub clock: Arc<dyn Clock>,
    /// The staff by role (local accounts, or the Cognito groups).
    pub directory: Arc<dyn StaffDirectory>,
    /// The outbox the embedded default writes instead of sending (none on AWS).
    pub outbox: Option<Arc<dyn OutboxReader>>,
    /// What the providers allow (daily email quota, monthly SMS spend limit).
    pub limits: Arc<dyn ProviderLimits>,
    /// Email layout.
    pub layout: Arc<EmailLayout>,
    /// Link signer.
    pub signer: TokenSigner,
    /// Settings.
    pub config: ServiceConfig,
}

/// Each paced channel's turns, shared through the store; the providers other use cases send
/// through (test sends, notices to staff) wait for their turn too. The dispatcher keeps the
/// providers as they are and books its deliveries' turns itself.
fn pace<S: Store + 'static>(p: &mut Providers<S>) -> Pacing {
    let rates = p.config.send_rates;
    let pacer = |channel, rate| {
        Arc::new(Pacer::new(
            p.store.clone() as Arc<dyn PaceStore>,
            p.clock.clone(),
            channel,
            rate,
        ))
    };
    let pacing = Pacing {
        email: rates.email.map(|rate| pacer(Channel::Email, rate)),
        sms: rates.sms.map(|rate| pacer(Channel::Sms, rate)),
        voice: rates.voice.map(|rate| pacer(Channel::Voice, rate)),
        email_quota: Some(Arc::new(DailyQuota::new(p.limits.clone(), p.clock.clone()))),
    };
    if let Some(pacer) = &pacing.email {
        p.email = Arc::new(PacedEmail {
            inner: p.email.clone(),
            pacer: pacer.clone(),
        });
    }
    if let Some(pacer) = &pacing.sms {
        p.sms = Arc::new(PacedSms {
            inner: p.sms.clone(),
            pacer: pacer.clone(),
        });
    }
    if let Some(pacer) = &pacing.voice {
        p.voice = Arc::new(PacedVoice {
            inner: p.voice.clone(),
            pacer: pacer.clone(),
        });
    }
    pacing
}

/// Every use case of the service, built once.
#[derive(Clone)]
pub struct UseCases {
    /// Resident journeys.
    pub residents: Arc<Residents>,
    /// Staff campaigns.
    pub campaigns: Arc<Campaigns>,
    pub subscriber_file: Arc<SubscriberFile>,
    /// Big-file exports and imports.
    pub file_jobs: Arc<FileJobs>,
    /// The departments' proposals.
    pub proposals: Arc<Proposals>,
    pub statistics: Arc<Statistics>,
    /// Topic management.
    pub topics_admin: Arc<TopicsAdmin>,
    /// Fan-out and sending.
    pub dispatcher: Arc<Dispatcher>,
    /// Every queued job, routed to the use case it belongs to.
    pub jobs: Arc<Jobs>,
    /// Météo-France vigilance relayed as urgent campaigns.
    pub weather: Arc<WeatherRelay>,
    /// What the embedded default's outbox holds.
    pub outbox: Arc<OutboxViewer>,
    /// SMS delivery receipts counted in the statistics.
    pub receipts: Arc<Receipts>,
    /// The public archive, its feeds and the alert in force.
    pub archive: Arc<Archive>,
    /// The town's zones.
    pub zones: Arc<Zones>,
    /// The crisis view of urgent campaigns and its follow-up.
    pub crisis: Arc<Crisis>,
    /// Each staff member's own settings.
    pub account: Arc<Account>,
    /// The crisis cell: its members and their alerts.
    pub cell: Arc<CrisisCell>,
}

impl UseCases {
    /// Builds every use case over one store, the dispatcher enqueueing on `queue`, big files
    /// kept in `files`.
    pub fn wire<S: Store + 'static>(
        mut p: Providers<S>,
        queue: Arc<dyn JobQueue>,
        files: Arc<dyn FileDrop>,
    ) -> Self {
        // The dispatcher books its own turns: it sends through the providers as they are.
        let raw = (p.email.clone(), p.sms.clone());
        let pacing = pace(&mut p);
        let store = p.store.clone();
        let file_jobs = file_jobs(&p, &queue, files);
        let archive = archive(&p);
        let dispatcher = dispatcher(&p, &queue, pacing, raw, &archive);
        let jobs = Arc::new(Jobs::new(dispatcher.clone(), file_jobs.clone()));
        let campaigns = campaigns(&p, &dispatcher);
        Self {
            subscriber_file: subscriber_file(&p),
            statistics: Arc::new(Statistics::new(StatisticsDeps {
                stats: store.clone(),
                subscribers: store.clone(),
                topics: store.clone(),
                zones: store.clone(),
                clock: p.clock.clone(),
                queue: queue.clone(),
                pauses: store.clone(),
            })),
            weather: weather(&p, &campaigns),
            receipts: Arc::new(Receipts::new(store.clone(), store.clone(), p.clock.clone())),
            zones: Arc::new(Zones::new(store.clone())),
            crisis: Arc::new(Crisis::new(CrisisDeps {
                campaigns: store.clone(),
                deliveries: store.clone(),
                audience: store.clone(),
                reach: store.clone(),
                zones: store.clone(),
                queue: queue.clone(),
                clock: p.clock.clone(),
            })),
            cell: Arc::new(CrisisCell::new(CellDeps {
                cell: store.clone(),
                campaigns: store.clone(),
                deliveries: store.clone(),
                reach: store.clone(),
                queue: queue.clone(),
                clock: p.clock.clone(),
            })),
            account: Arc::new(Account::new(store.clone())),
            topics_admin: Arc::new(TopicsAdmin::new(store, p.clock.clone())),
            outbox: Arc::new(OutboxViewer::new(p.outbox.clone())),
            proposals: proposals(&p, &campaigns),
            residents: residents(&p, &queue),
            campaigns,
            dispatcher,
            jobs,
            file_jobs,
            archive,
        }
    }
}

fn file_jobs<S: Store + 'static>(
    p: &Providers<S>,
    queue: &Arc<dyn JobQueue>,
    files: Arc<dyn FileDrop>,
) -> Arc<FileJobs> {
    let store = &p.store;
    Arc::new(FileJobs::new(FileJobsDeps {
        subscribers: store.clone(),
        reports: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        clock: p.clock.clone(),
        jobs: store.clone(),
        files,
        queue: queue.clone(),
        settings: p.config.big_files,
    }))
}

fn archive<S: Store + 'static>(p: &Providers<S>) -> Arc<Archive> {
    Arc::new(Archive::new(ArchiveDeps {
        archive: p.store.clone(),
        topics: p.store.clone(),
        clock: p.clock.clone(),
        layout: p.layout.clone(),
        public_url: p.config.public_url.clone(),
        town: p.config.town_name.clone(),
    }))
}

fn dispatcher<S: Store + 'static>(
    p: &Providers<S>,
    queue: &Arc<dyn JobQueue>,
    pacing: Pacing,
    (email, sms): (Arc<dyn EmailSender>, Arc<dyn SmsSender>),
    archive: &Arc<Archive>,
) -> Arc<Dispatcher> {
    let store = &p.store;
    Arc::new(Dispatcher::new(DispatchDeps {
        campaigns: store.clone(),
        deliveries: store.clone(),
        audience: store.clone(),
        suppressions: store.clone(),
        stats: store.clone(),
        queue: queue.clone(),
        pauses: store.clone(),
        email,
        sms,
        pacing,
        voice: p.voice.clone(),
        clock: p.clock.clone(),
        layout: p.layout.clone(),
        links: Links::new(p.signer.clone(), p.config.clone()),
        config: p.config.clone(),
        archive: archive.clone(),
        cell: store.clone(),
    }))
}

fn campaigns<S: Store + 'static>(p: &Providers<S>, dispatcher: &Arc<Dispatcher>) -> Arc<Campaigns> {
    let store = &p.store;
    Arc::new(Campaigns::new(CampaignDeps {
        campaigns: store.clone(),
        deliveries: store.clone(),
        subscribers: store.clone(),
        topics: store.clone(),
        email: p.email.clone(),
        sms: p.sms.clone(),
        clock: p.clock.clone(),
        layout: p.layout.clone(),
        dispatcher: dispatcher.clone(),
        limits: p.limits.clone(),
        stats: store.clone(),
        config: p.config.clone(),
        zones: store.clone(),
        audience: store.clone(),
        suppressions: store.clone(),
        directory: p.directory.clone(),
        notice_settings: store.clone(),
        archive: store.clone(),
    }))
}

fn proposals<S: Store + 'static>(p: &Providers<S>, campaigns: &Arc<Campaigns>) -> Arc<Proposals> {
    let store = &p.store;
    Arc::new(Proposals::new(ProposalsDeps {
        proposals: store.clone(),
        topics: store.clone(),
        campaign_store: store.clone(),
        campaigns: campaigns.clone(),
        email: p.email.clone(),
        layout: p.layout.clone(),
        clock: p.clock.clone(),
        public_url: p.config.public_url.clone(),
        notice_settings: store.clone(),
    }))
}

fn residents<S: Store + 'static>(p: &Providers<S>, queue: &Arc<dyn JobQueue>) -> Arc<Residents> {
    let store = &p.store;
    Arc::new(Residents::new(ResidentDeps {
        subscribers: store.clone(),
        quotas: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        email: p.email.clone(),
        sms: p.sms.clone(),
        queue: queue.clone(),
        signer: p.signer.clone(),
        clock: p.clock.clone(),
        layout: p.layout.clone(),
        config: p.config.clone(),
        zones: store.clone(),
        voice: p.voice.clone(),
        campaigns: store.clone(),
        reach: store.clone(),
        cell: store.clone(),
    }))
}

fn subscriber_file<S: Store + 'static>(p: &Providers<S>) -> Arc<SubscriberFile> {
    let store = &p.store;
    let welcome = Welcome {
        email: p.email.clone(),
        sms: p.sms.clone(),
        layout: p.layout.clone(),
        links: Links::new(p.signer.clone(), p.config.clone()),
        town: p.config.town_name.clone(),
    };
    Arc::new(
        SubscriberFile::new(SubscriberFileDeps {
            subscribers: store.clone(),
            reports: store.clone(),
            topics: store.clone(),
            stats: store.clone(),
            clock: p.clock.clone(),
            suppressions: store.clone(),
            zones: store.clone(),
        })
        .with_welcome(welcome),
    )
}

fn weather<S: Store + 'static>(p: &Providers<S>, campaigns: &Arc<Campaigns>) -> Arc<WeatherRelay> {
    let store = &p.store;
    Arc::new(WeatherRelay::new(WeatherRelayDeps {
        weather: store.clone(),
        stats: store.clone(),
        campaigns: campaigns.clone(),
        directory: p.directory.clone(),
        email: p.email.clone(),
        sms: p.sms.clone(),
        layout: p.layout.clone(),
        clock: p.clock.clone(),
        town: p.config.town_name.clone(),
        public_url: p.config.public_url.clone(),
        policy: p.config.weather.clone(),
        notice_settings: store.clone(),
        zones: store.clone(),
    }))
}

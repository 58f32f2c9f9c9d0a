//! The whole embedded service in this process, on a manual clock and a provider of the
//! caller's choosing: what use-case tests and the fan-out benchmark drive without HTTP.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use telmail_core::clock::ManualClock;
use telmail_core::config::ServiceConfig;
use telmail_core::domain::campaign::{Campaign, CampaignInput};
use telmail_core::domain::queue::{DeliverJob, FanoutJob, JobOutcome};
use telmail_core::domain::signup::SubscriptionInput;
use telmail_core::domain::topic::default_topics;
use telmail_core::ports::{EmailSender, SmsSender, VoiceSender};
use telmail_core::render::messages::EmailLayout;
use telmail_core::token::TokenSigner;
use telmail_core::use_cases::dispatch::Dispatcher;
use telmail_core::use_cases::staff_auth::AccountDirectory;
use telmail_core::use_cases::subscriber_file::PaperInput;
use telmail_core::wiring::{Providers, UseCases};
use telmail_local::app::Services;

/// An outbox in `dir` (relaying through `smtp_url`, if any) stamping with `clock`: give the
/// same clock to [`World::on_clock`].
pub fn outbox(
    dir: &std::path::Path,
    smtp_url: Option<&str>,
    clock: Arc<ManualClock>,
) -> Arc<telmail_local::outbox::Outbox> {
    Arc::new(
        telmail_local::outbox::Outbox::new(
            dir,
            "Ville d'Arcachon <ne-pas-repondre@arcachon.example>",
            "ARCACHON",
            smtp_url,
            clock,
        )
        .expect("an outbox"),
    )
}

/// The public address links in messages point to.
pub const PUBLIC_URL: &str = "https://alertes.arcachon.example";

/// One service on a fresh data folder (deleted when dropped), default topics created.
pub struct World<P> {
    /// Use cases, store and queue.
    pub services: Services,
    /// Receives every email and SMS.
    pub provider: Arc<P>,
    /// The time of the use cases and of the queue: delayed jobs appear when it moves.
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl<P: EmailSender + SmsSender + 'static> World<P> {
    /// Starts the service at `at`, sending through `provider`.
    pub async fn new(at: DateTime<Utc>, provider: Arc<P>) -> Self {
        Self::configured(at, provider, |_| {}).await
    }

    /// Starts the service at `at`, sending through `provider`, with settings changed by `adjust`.
    pub async fn configured(
        at: DateTime<Utc>,
        provider: Arc<P>,
        adjust: impl FnOnce(&mut ServiceConfig),
    ) -> Self {
        Self::on_clock(Arc::new(ManualClock::new(at)), provider, adjust).await
    }

    /// Starts the service on `clock` (which the provider may share, as an outbox stamping its
    /// files does), sending through `provider`, with settings changed by `adjust`.
    pub async fn on_clock(
        clock: Arc<ManualClock>,
        provider: Arc<P>,
        adjust: impl FnOnce(&mut ServiceConfig),
    ) -> Self {
        Self::limited(clock, provider, adjust, None).await
    }

    /// [`Self::on_clock`], the provider accepting `email_daily_quota` emails a day (as
    /// `--email-daily-quota`).
    pub async fn limited(
        clock: Arc<ManualClock>,
        provider: Arc<P>,
        adjust: impl FnOnce(&mut ServiceConfig),
        email_daily_quota: Option<u64>,
    ) -> Self {
        Self::build(clock, provider, None, adjust, email_daily_quota).await
    }

    /// [`Self::on_clock`], placing calls through `voice` instead of the voice outbox.
    pub async fn calling(
        clock: Arc<ManualClock>,
        provider: Arc<P>,
        voice: Arc<dyn VoiceSender>,
        adjust: impl FnOnce(&mut ServiceConfig),
    ) -> Self {
        Self::build(clock, provider, Some(voice), adjust, None).await
    }

    async fn build(
        clock: Arc<ManualClock>,
        provider: Arc<P>,
        voice: Option<Arc<dyn VoiceSender>>,
        adjust: impl FnOnce(&mut ServiceConfig),
        email_daily_quota: Option<u64>,
    ) -> Self {
        let mut config = ServiceConfig::with_public_url(PUBLIC_URL);
        adjust(&mut config);
        let dir = tempfile::tempdir().expect("a temporary data folder");
        // One connection for the store and the queue, as the server has (`open_data`).
        let db = telmail_local::db::Db::open(&dir.path().join("telmail.sqlite"))
            .expect("open the database");
        let store = Arc::new(telmail_local::store::SqliteStore::new(
            db.clone(),
            clock.clone(),
        ));
        let queue = telmail_local::queue::SqliteQueue::new(db, clock.clone());
        let services = Services::wire(
            Providers {
                directory: Arc::new(AccountDirectory(store.clone())),
                outbox: None,
                limits: Arc::new(telmail_local::limits::LocalLimits::new(
                    store.clone(),
                    email_daily_quota,
                    None,
                )),
                store,
                email: provider.clone(),
                sms: provider.clone(),
                voice: voice.unwrap_or_else(|| {
                    Arc::new(
                        telmail_local::voice_outbox::VoiceOutbox::new(
                            dir.path(),
                            None,
                            clock.clone(),
                        )
                        .expect("a voice outbox"),
                    )
                }),
                clock: clock.clone(),
                layout: Arc::new(EmailLayout::embedded("Arcachon")),
                signer: TokenSigner::new(vec![9u8; 32]).expect("a 32-byte key"),
                config,
            },
            queue,
            Arc::new(
                telmail_local::files::FolderDrop::new(&dir.path().join("files"), clock.clone())
                    .expect("a folder for big files"),
            ),
        )
        .expect("wire the service");
        services
            .use_cases
            .residents
            .seed_topics(&default_topics())
            .await
            .expect("seed the default topics");
        Self {
            services,
            provider,
            clock,
            _dir: dir,
        }
    }

    /// Types in a paper form (as staff of the communication service): `topic` on `channels`.
    pub async fn subscribe_on_paper(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
        topic: &str,
        channels: &[&str],
    ) {
        let input = PaperInput {
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            subscriptions: vec![SubscriptionInput {
                topic: topic.into(),
                channels: channels.iter().map(|c| c.to_string()).collect(),
            }],
            paper_form_reference: Some("F-1".into()),
            place: None,
            zones: Vec::new(),
            add_to_existing: false,
            // The world counts each resident's messages: campaigns' only.
            welcome: false,
        };
        self.services
            .use_cases
            .subscriber_file
            .add_paper(&crate::staff("redac", "redaction"), &input)
            .await
            .expect("a valid paper form");
    }

    /// A campaign written and submitted by the communication service (`redac`).
    pub async fn submitted(&self, input: &CampaignInput) -> Campaign {
        let campaigns = &self.services.use_cases.campaigns;
        let redac = crate::staff("redac", "redaction");
        let draft = campaigns
            .create(&redac, input)
            .await
            .expect("a valid campaign");
        campaigns.submit(&redac, draft.id).await.expect("submitted")
    }

    /// The data folder (its `outbox/voice.jsonl` holds the calls placed).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The service's use cases.
    pub fn use_cases(&self) -> &UseCases {
        &self.services.use_cases
    }

    /// The use case that fans campaigns out and delivers their messages.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.services.use_cases.dispatcher
    }

    /// Runs one fan-out job.
    pub async fn fan_out(&self, job: &FanoutJob) -> JobOutcome {
        self.dispatcher()
            .fan_out(job)
            .await
            .expect("the fan-out runs")
    }

    /// Runs the first fan-out job of each of the campaign's shards.
    pub async fn fan_out_all(&self, c: &Campaign) {
        for shard in 0..c.shards {
            self.fan_out(&FanoutJob::first(c.id, shard, c.urgent)).await;
        }
    }

    /// Runs these delivery jobs; returns what became of each.
    pub async fn deliver(&self, jobs: &[DeliverJob]) -> Vec<JobOutcome> {
        self.dispatcher()
            .deliver(jobs)
            .await
            .expect("the deliveries run")
    }

    /// Runs the fan-out and delivery jobs available now (at the world's clock) until none is left.
    pub async fn drain(&self) {
        telmail_local::worker::Worker::new(
            self.services.queue.clone(),
            self.services.use_cases.jobs.clone(),
            Default::default(),
        )
        .drain()
        .await
        .expect("the jobs run");
    }

    /// The cabinet (`cab`) approves the submitted campaign in the version read.
    pub async fn approve(&self, submitted: &Campaign) -> Campaign {
        self.services
            .use_cases
            .campaigns
            .approve(
                &crate::staff("cab", "cabinet"),
                submitted.id,
                Some(submitted.version),
            )
            .await
            .expect("approved")
    }
}

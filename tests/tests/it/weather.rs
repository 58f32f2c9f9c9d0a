//! The weather relay over the embedded backend: a red alert reaches subscribers' phones and
//! mailboxes at once and counts as a weather alert; two overlapping cycles relay an alert once;
//! a stale bulletin relays nothing; a phenomenon the settings limit to zones reaches their residents
//! and those who named none.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use telmail_core::clock::{Clock, Month};
use telmail_core::domain::campaign::{CampaignKind, CampaignStatus};
use telmail_core::domain::delivery::DeliveryStatus;
use telmail_core::domain::signup::SubscriptionInput;
use telmail_core::domain::staff::StaffAccount;
use telmail_core::domain::weather::{parse_zone_limits, Bulletin, Colour, Phenomenon, Vigilance};
use telmail_core::domain::zone::ZoneInput;
use telmail_core::error::SendError;
use telmail_core::ports::StaffStore;
use telmail_core::ports::{
    CampaignStore, Counter, DeliveryStore, EmailSender, OutgoingEmail, OutgoingSms, SmsSender,
    StatsStore,
};
use telmail_core::use_cases::subscriber_file::PaperInput;
use telmail_core::use_cases::weather::{RelayLine, RelayOutcome};
use telmail_core::DomainError;
use telmail_tests::staff;
use telmail_tests::world::World;

/// Keeps what it is handed.
#[derive(Default)]
struct Inbox(Mutex<Vec<String>>);

#[async_trait]
impl EmailSender for Inbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}|{}", email.to, email.subject));
        Ok(Some("e".into()))
    }
}

#[async_trait]
impl SmsSender for Inbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}|{}", sms.to, sms.text));
        Ok(Some("s".into()))
    }
}

async fn world() -> World<Inbox> {
    // A Sunday night: only urgent SMS may go
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let w = World::new(at, Arc::new(Inbox::default())).await;
    w.subscribe_on_paper(
        Some("marin@exemple.fr"),
        Some("06 12 12 12 12"),
        "alerte-meteo",
        &["email", "sms"],
    )
    .await;
    w
}

fn bulletin(w: &World<Inbox>, colour: Colour, age: Duration) -> Bulletin {
    let now = w.clock.now();
    Bulletin {
        updated: now - age,
        vigilances: vec![Vigilance {
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour,
            begins: now - Duration::hours(1),
            ends: now + Duration::hours(12),
        }],
    }
}

#[tokio::test]
async fn a_red_alert_reaches_subscribers_at_once_even_at_night() {
    let w = world().await;
    let lines = cycle(&w, Colour::Red, Duration::minutes(5)).await;
    let RelayOutcome::SentAtOnce(id) = lines[0].outcome else {
        panic!("{lines:?}");
    };
    w.drain().await;
    let got = w.provider.0.lock().unwrap().clone();
    assert!(
        got.iter()
            .any(|m| m
                .starts_with("+33612121212|Ville d'Arcachon : vigilance rouge vagues-submersion")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("marin@exemple.fr|Vigilance rouge vagues-submersion")),
        "{got:?}"
    );
    let store = w.services.store.as_ref();
    let c = CampaignStore::get(store, id).await.unwrap().unwrap();
    assert_eq!(c.status(), CampaignStatus::Sent);
    let alerts = StatsStore::get(store, Month::of(w.clock.now()), Counter::WeatherAlertsSent)
        .await
        .unwrap();
    assert_eq!(alerts, 1);
}

#[tokio::test]
async fn two_overlapping_cycles_relay_an_alert_once() {
    let w = world().await;
    let relay = &w.use_cases().weather;
    let b = bulletin(&w, Colour::Orange, Duration::minutes(5));
    let (a, b) = tokio::join!(relay.cycle(&b), relay.cycle(&b));
    let outcomes = [a.unwrap()[0].outcome.clone(), b.unwrap()[0].outcome.clone()];
    let submitted = outcomes
        .iter()
        .filter(|o| matches!(o, RelayOutcome::Submitted(_)))
        .count();
    assert_eq!(submitted, 1, "{outcomes:?}");
    assert!(outcomes.contains(&RelayOutcome::AlreadyRelayed));
}

#[tokio::test]
async fn a_stale_bulletin_relays_nothing() {
    let w = world().await;
    let err = w
        .use_cases()
        .weather
        .cycle(&bulletin(&w, Colour::Red, Duration::hours(13)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Unavailable(ref m) if m.contains("périmé")),
        "{err}"
    );
    let all = CampaignStore::list(w.services.store.as_ref(), None, 10)
        .await
        .unwrap();
    assert!(all.is_empty());
}

/// A cabinet account with both contacts, and a disabled one that must not be told.
async fn cabinet_accounts(w: &World<Inbox>) {
    for (id, disabled) in [("maire-adjoint", false), ("ancien-elu", true)] {
        let mut identity = staff(id, "cabinet");
        identity.email = Some(format!("{id}@arcachon.example").parse().unwrap());
        identity.phone = Some("+33699887766".parse().unwrap());
        StaffStore::create_account(
            w.services.store.as_ref(),
            &StaffAccount {
                identity,
                password_hash: "non utilisé".into(),
                created_at: w.clock.now(),
                disabled,
                locked_until: None,
                login_generation: 0,
            },
        )
        .await
        .unwrap();
    }
}

fn sent(w: &World<Inbox>) -> Vec<String> {
    w.provider.0.lock().unwrap().clone()
}

#[tokio::test]
async fn an_orange_alert_waits_for_the_cabinet_who_is_told_at_once_with_a_link() {
    let w = world().await;
    cabinet_accounts(&w).await;
    let lines = cycle(&w, Colour::Orange, Duration::minutes(5)).await;
    let RelayOutcome::Submitted(id) = lines[0].outcome else {
        panic!("{lines:?}");
    };
    let told = lines[0].told.clone().unwrap();
    assert_eq!((told.members, told.emails, told.sms), (1, 1, 1), "{told:?}");
    assert!(lines[0].describe().contains("cabinet prévenu"));
    let link = format!("https://alertes.arcachon.example/admin/campagnes/{id}");
    let got = sent(&w);
    assert_eq!(got.len(), 2, "only the enabled member: {got:?}");
    assert!(got.iter().any(|m| m.starts_with(
        "maire-adjoint@arcachon.example|[Télmail] À approuver d'urgence : vigilance orange vagues-submersion"
    )));
    assert!(
        got.iter()
            .any(|m| m.starts_with("+33699887766|") && m.ends_with(&link)),
        "{got:?}"
    );
    // Residents get nothing until the cabinet approves.
    assert!(!got.iter().any(|m| m.starts_with("marin@")));
    let c = CampaignStore::get(w.services.store.as_ref(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status(), CampaignStatus::Submitted);
    assert!(c.urgent);
    let source = c.source.unwrap();
    assert_eq!(
        (source.domain.as_str(), source.phenomenon, source.colour),
        ("3310", Phenomenon::WavesSubmersion, Colour::Orange)
    );
    assert_eq!(source.product_time, w.clock.now() - Duration::minutes(5));
}

#[tokio::test]
async fn an_upgrade_relays_again_and_withdraws_the_orange_still_waiting() {
    let w = world().await;
    let orange = cycle(&w, Colour::Orange, Duration::minutes(5)).await;
    let RelayOutcome::Submitted(orange_id) = orange[0].outcome else {
        panic!("{orange:?}");
    };
    let red = cycle(&w, Colour::Red, Duration::minutes(1)).await;
    assert!(
        matches!(red[0].outcome, RelayOutcome::SentAtOnce(_)),
        "{red:?}"
    );
    let store = w.services.store.as_ref();
    let withdrawn = CampaignStore::get(store, orange_id).await.unwrap().unwrap();
    assert_eq!(withdrawn.status(), CampaignStatus::Rejected);
    assert!(withdrawn.rejection_reason().unwrap().contains("rouge"));
    // Back to orange: a downgrade relays nothing.
    let down = cycle(&w, Colour::Orange, Duration::minutes(0)).await;
    assert_eq!(down[0].outcome, RelayOutcome::AlreadyRelayed);
}

/// One relay cycle over `bulletin(w, colour, age)`.
async fn cycle(w: &World<Inbox>, colour: Colour, age: Duration) -> Vec<RelayLine> {
    w.use_cases()
        .weather
        .cycle(&bulletin(w, colour, age))
        .await
        .unwrap()
}

/// A fresh bulletin where the alert went down to yellow (Météo-France lifted it).
fn lifted(w: &World<Inbox>) -> Bulletin {
    bulletin(w, Colour::Yellow, Duration::zero())
}

#[tokio::test]
async fn the_end_of_an_alert_that_went_out_is_announced_once_and_may_be_turned_off() {
    let w = world().await;
    let relay = &w.use_cases().weather;
    cycle(&w, Colour::Red, Duration::minutes(5)).await;
    w.drain().await;
    w.clock.advance(Duration::hours(3));
    let yellow = lifted(&w);
    let (a, b) = tokio::join!(relay.cycle(&yellow), relay.cycle(&yellow));
    let ends: Vec<RelayOutcome> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|l| l.outcome)
        .filter(|o| matches!(o, RelayOutcome::EndSent(_)))
        .collect();
    assert_eq!(ends.len(), 1, "announced once: {ends:?}");
    let RelayOutcome::EndSent(end_id) = ends[0] else {
        unreachable!()
    };
    w.drain().await;
    let end_sms = "+33612121212|Ville d'Arcachon : fin de la vigilance rouge vagues-submersion";
    let got = sent(&w);
    assert!(
        got.iter()
            .any(|m| m == "marin@exemple.fr|Fin de la vigilance rouge vagues-submersion à Arcachon"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|m| m.starts_with(end_sms)),
        "at 1 a.m. the end's SMS waits for the window: {got:?}"
    );
    w.clock.advance(Duration::hours(7));
    w.drain().await;
    assert!(
        sent(&w).iter().any(|m| m.starts_with(end_sms)),
        "{:?}",
        sent(&w)
    );
    let end = CampaignStore::get(w.services.store.as_ref(), end_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(end.kind, CampaignKind::WeatherAlertEnd);
    assert!(!end.urgent, "an end waits for the SMS window");
    // Only the alert counts as a weather alert.
    let alerts = StatsStore::get(
        w.services.store.as_ref(),
        Month::of(w.clock.now()),
        Counter::WeatherAlertsSent,
    )
    .await
    .unwrap();
    assert_eq!(alerts, 1);

    // With the end notice turned off, a lifted alert ends silently.
    let admin = staff("redac", "redaction");
    let mut templates = relay.templates(&admin).await.unwrap().templates;
    templates.end_notice = false;
    relay.save_templates(&admin, templates).await.unwrap();
    cycle(&w, Colour::Red, Duration::minutes(5)).await;
    w.clock.advance(Duration::hours(1));
    let quiet = relay.cycle(&lifted(&w)).await.unwrap();
    assert!(
        quiet.iter().any(|l| l.outcome == RelayOutcome::Lifted),
        "{quiet:?}"
    );
}

#[tokio::test]
async fn an_alert_lifted_before_approval_is_withdrawn_without_a_message() {
    let w = world().await;
    let relay = &w.use_cases().weather;
    let orange = cycle(&w, Colour::Orange, Duration::minutes(5)).await;
    let RelayOutcome::Submitted(id) = orange[0].outcome else {
        panic!("{orange:?}");
    };
    w.clock.advance(Duration::hours(1));
    let lines = relay.cycle(&lifted(&w)).await.unwrap();
    let withdrawn = lines
        .iter()
        .find(|l| l.outcome == RelayOutcome::Withdrawn(id))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(withdrawn.describe().starts_with("Fin de vigilance orange"));
    assert!(withdrawn.describe().contains("retirée"));
    let c = CampaignStore::get(w.services.store.as_ref(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status(), CampaignStatus::Rejected);
    assert!(sent(&w).is_empty());
}

#[tokio::test]
async fn staff_templates_shape_the_messages_and_a_long_sms_is_refused_by_field() {
    let w = world().await;
    let relay = &w.use_cases().weather;
    let redac = staff("redac", "redaction");
    let mut templates = relay.templates(&redac).await.unwrap().templates;
    templates.alert_sms = "ARCACHON {{ couleur | upper }} : {{ phenomene }}, {{ validite }}. Consignes sur arcachon.fr".into();
    let saved = relay
        .save_templates(&redac, templates.clone())
        .await
        .unwrap();
    assert!(!saved.defaults);
    // The cabinet reads the templates but cannot change them.
    let cabinet = staff("cab", "cabinet");
    assert!(relay.templates(&cabinet).await.is_ok());
    assert!(matches!(
        relay.save_templates(&cabinet, templates.clone()).await,
        Err(DomainError::Forbidden(_))
    ));
    let too_long = telmail_core::domain::alert_templates::AlertTemplates {
        alert_sms: format!(
            "{} Restez chez vous, informez vos voisins et suivez les consignes des autorites.",
            templates.alert_sms
        ),
        ..templates
    };
    let Err(DomainError::Validation(errors)) = relay.save_templates(&redac, too_long).await else {
        panic!("a two-segment SMS must be refused");
    };
    assert!(errors.get("alert_sms").unwrap().contains("un seul segment"));
    cycle(&w, Colour::Red, Duration::minutes(5)).await;
    w.drain().await;
    assert!(
        sent(&w)
            .iter()
            .any(|m| m.starts_with("+33612121212|ARCACHON ROUGE : vagues-submersion, du ")),
        "{:?}",
        sent(&w)
    );
}

#[tokio::test]
async fn an_alert_held_up_past_the_end_of_its_vigilance_is_never_sent_late() {
    let w = world().await;
    let lines = cycle(&w, Colour::Red, Duration::minutes(5)).await;
    let RelayOutcome::SentAtOnce(id) = lines[0].outcome else {
        panic!("{lines:?}");
    };
    // The queue is held up (an outage) until the vigilance is over: nothing goes out late.
    w.clock.advance(Duration::hours(13));
    w.drain().await;
    assert!(sent(&w).is_empty(), "{:?}", sent(&w));
    let store = w.services.store.as_ref();
    let deliveries = DeliveryStore::list(store, id, 10, 0).await.unwrap();
    assert_eq!(deliveries.len(), 2, "an email and an SMS");
    for d in &deliveries {
        assert_eq!(d.status, DeliveryStatus::Expired, "{d:?}");
        assert!(
            d.error.as_deref().unwrap().contains("était terminée"),
            "{d:?}"
        );
    }
    let c = CampaignStore::get(store, id).await.unwrap().unwrap();
    assert_eq!(
        c.status(),
        CampaignStatus::Sent,
        "the campaign ends all the same"
    );
}

#[tokio::test]
async fn over_the_daily_email_quota_the_alert_still_goes_and_its_end_waits_for_the_cabinet() {
    // GIVEN a provider accepting one email a day, and two residents on weather alerts by email
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let w = World::limited(
        Arc::new(telmail_core::clock::ManualClock::new(at)),
        Arc::new(Inbox::default()),
        |_| {},
        Some(1),
    )
    .await;
    for email in ["marin@exemple.fr", "pecheur@exemple.fr"] {
        w.subscribe_on_paper(Some(email), None, "alerte-meteo", &["email"])
            .await;
    }
    // WHEN a red alert comes: urgent, it is approved at once though over the quota
    let lines = cycle(&w, Colour::Red, Duration::minutes(5)).await;
    assert!(
        matches!(lines[0].outcome, RelayOutcome::SentAtOnce(_)),
        "{lines:?}"
    );
    w.drain().await;
    // AND the provider's quota holds even then: one email goes, the other waits for it to free
    assert_eq!(sent(&w).len(), 1);
    // AND then lifted: its end, not urgent, cannot start over the quota
    w.clock.advance(Duration::hours(3));
    let ends = w.use_cases().weather.cycle(&lifted(&w)).await.unwrap();

    // THEN the end waits for the cabinet, submitted, instead of failing the relay
    let Some(end_id) = ends.iter().find_map(|l| match l.outcome {
        RelayOutcome::EndSubmitted(id) => Some(id),
        _ => None,
    }) else {
        panic!("{ends:?}")
    };
    let end = CampaignStore::get(w.services.store.as_ref(), end_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(end.status(), CampaignStatus::Submitted);
    w.drain().await;
    assert_eq!(sent(&w).len(), 1);
}

/// The sea front and Le Moulleau, and three residents on « Alerte météo » by SMS: one on the
/// sea front, one at Le Moulleau, one who named no zone.
async fn zoned_world(zones: Option<&'static str>) -> World<Inbox> {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let w = World::configured(at, Arc::new(Inbox::default()), |c| {
        if let Some(setting) = zones {
            c.weather.zones = parse_zone_limits(setting).unwrap();
        }
    })
    .await;
    let admin = staff("admin", "admin");
    for name in ["Front de mer", "Le Moulleau"] {
        let zone = ZoneInput {
            name: Some(name.into()),
            description: Some("Une zone de la ville.".into()),
            streets: Vec::new(),
        };
        w.use_cases().zones.create(&admin, &zone).await.unwrap();
    }
    for (phone, zone) in [
        ("0611000001", Some("front-de-mer")),
        ("0611000003", Some("le-moulleau")),
        ("0611000004", None),
    ] {
        let paper = PaperInput {
            email: None,
            phone: Some(phone.into()),
            subscriptions: vec![SubscriptionInput {
                topic: "alerte-meteo".into(),
                channels: vec!["sms".into()],
            }],
            paper_form_reference: Some("F-30".into()),
            place: None,
            zones: zone.into_iter().map(String::from).collect(),
            add_to_existing: false,
            welcome: false,
        };
        w.use_cases()
            .subscriber_file
            .add_paper(&staff("redac", "redaction"), &paper)
            .await
            .unwrap();
    }
    w
}

/// The numbers a red submersion alert reached, once relayed and sent; and the relay's line.
async fn reached_by_a_red_submersion(w: &World<Inbox>) -> (Vec<String>, String) {
    let lines = cycle(w, Colour::Red, Duration::minutes(5)).await;
    assert!(
        matches!(lines[0].outcome, RelayOutcome::SentAtOnce(_)),
        "{lines:?}"
    );
    w.drain().await;
    let mut numbers: Vec<String> = sent(w)
        .iter()
        .filter_map(|m| m.split_once('|').map(|(to, _)| to.to_owned()))
        .collect();
    numbers.sort();
    (numbers, lines[0].describe())
}

#[tokio::test]
async fn a_submersion_limited_to_the_sea_front_reaches_its_residents_and_those_who_named_none() {
    let w = zoned_world(Some("vagues-submersion=front-de-mer")).await;
    let (reached, line) = reached_by_a_red_submersion(&w).await;
    assert_eq!(reached, ["+33611000001", "+33611000004"]);
    assert!(
        line.contains("limitée aux zones front-de-mer et aux abonnés sans zone"),
        "{line}"
    );
    // Another phenomenon is not limited
    let policy = w.use_cases().weather.policy();
    assert_eq!(policy.zones_for(&[Phenomenon::Wind]), None);
}

#[tokio::test]
async fn without_the_setting_a_submersion_reaches_every_subscriber() {
    let w = zoned_world(None).await;
    let (reached, line) = reached_by_a_red_submersion(&w).await;
    assert_eq!(reached, ["+33611000001", "+33611000003", "+33611000004"]);
    assert!(!line.contains("zone"), "{line}");
}

#[tokio::test]
async fn a_zone_the_town_does_not_have_sends_the_alert_to_everyone_and_says_so() {
    let w = zoned_world(Some("vagues-submersion=front-de-mer+bord-de-mer")).await;
    let (reached, line) = reached_by_a_red_submersion(&w).await;
    assert_eq!(reached, ["+33611000001", "+33611000003", "+33611000004"]);
    assert!(
        line.contains(
            "zones inconnues dans TELMAIL_WEATHER_ZONES (bord-de-mer) : envoyée à tous les abonnés du thème"
        ),
        "{line}"
    );
}

//! `telmail-local weather check FILE` (contract) on the real binary: French lines for each alert
//! relayed, skipped or ended, exit 0; an unreadable document exits non-zero and changes nothing;
//! an alert is relayed once, an upgrade again, a downgrade not, and its end is announced once.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, SecondsFormat, Utc};
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::domain::campaign::{CampaignKind, CampaignStatus};
use telmail_core::ports::{CampaignStore, WeatherStore};

fn check(data: &Path, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telmail-local"))
        .arg("--data-dir")
        .arg(data)
        .args(["weather", "check"])
        .arg(file)
        .env("TELMAIL_SIGNING_KEY", "k".repeat(40))
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A `cartevigilance/encours` document of now: (domain, phenomenon id, colour id) at their
/// colour from one hour ago to ten hours ahead.
fn document(items: &[(&str, &str, u32)]) -> String {
    // `weather check` runs on the system clock: the document is dated on it too.
    #[allow(clippy::disallowed_methods)]
    let now = Utc::now();
    let t = |h: i64| (now + Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let domains: Vec<String> = items
        .iter()
        .map(|(domain, phenomenon, colour)| {
            format!(
                r#"{{"domain_id":"{domain}","max_color_id":{colour},"phenomenon_items":[{{"phenomenon_id":"{phenomenon}","phenomenon_max_color_id":{colour},"timelaps_items":[{{"begin_time":"{}","end_time":"{}","color_id":{colour}}}]}}]}}"#,
                t(-1),
                t(10)
            )
        })
        .collect();
    format!(
        r#"{{"product":{{"warning_type":"vigilance","update_time":"{}","domain_id":"FRA","periods":[{{"echeance":"J","begin_validity_time":"{}","end_validity_time":"{}","timelaps":{{"domain_ids":[{}]}}}}]}}}}"#,
        t(0),
        t(-1),
        t(10),
        domains.join(",")
    )
}

/// The store of the data folder of `weather check`, which runs on the system clock.
fn store(data: &Path) -> telmail_local::store::SqliteStore {
    let db = telmail_local::db::Db::open(&data.join("telmail.sqlite")).unwrap();
    telmail_local::store::SqliteStore::new(
        db,
        std::sync::Arc::new(telmail_core::clock::SystemClock),
    )
}

async fn weather_campaigns(data: &Path) -> Vec<(CampaignStatus, String)> {
    let store = store(data);
    let mut found: Vec<(CampaignStatus, String)> = CampaignStore::list(&store, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == CampaignKind::WeatherAlert)
        .map(|c| (c.status(), c.title))
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
}

#[tokio::test]
async fn a_cycle_relays_each_alert_once_and_says_so_in_french() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("encours.json");

    // An unreadable document: non-zero, a clear message, nothing created
    std::fs::write(&file, "{ pas du json").unwrap();
    let out = check(&data, &file);
    assert!(!out.status.success());
    assert!(said(&out).contains("Rien n'a été relayé"), "{}", said(&out));

    // Orange wind on Gironde (fast approval), red waves on its coast (sent at once), yellow
    // storms (below the threshold), and another department (not read)
    std::fs::write(
        &file,
        document(&[
            ("33", "1", 3),
            ("3310", "9", 4),
            ("33", "3", 2),
            ("35", "1", 4),
        ]),
    )
    .unwrap();
    let out = check(&data, &file);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(
        text.contains("Vigilance orange vent violent (domaine 33"),
        "{text}"
    );
    assert!(
        text.contains("soumise au cabinet pour approbation rapide"),
        "{text}"
    );
    assert!(
        text.contains("Vigilance rouge vagues-submersion (domaine 3310"),
        "{text}"
    );
    assert!(text.contains("envoyée aussitôt"), "{text}");
    assert!(text.contains("sous le seuil de relais"), "{text}");
    assert!(!text.contains("domaine 35"), "{text}");
    let campaigns = weather_campaigns(&data).await;
    assert_eq!(campaigns.len(), 2, "{campaigns:?}");
    assert!(campaigns
        .iter()
        .any(|(s, t)| *s == CampaignStatus::Submitted && t.contains("orange vent violent")));
    assert!(campaigns
        .iter()
        .any(|(s, t)| *s == CampaignStatus::Sending && t.contains("rouge vagues-submersion")));

    // The same document again: nothing new
    let out = check(&data, &file);
    assert!(
        said(&out).matches("déjà relayée").count() == 2,
        "{}",
        said(&out)
    );
    assert_eq!(weather_campaigns(&data).await.len(), 2);

    // Wind goes red (relayed again), waves go down to orange (not relayed)
    std::fs::write(&file, document(&[("33", "1", 4), ("3310", "9", 3)])).unwrap();
    let out = check(&data, &file);
    let text = said(&out);
    assert!(text.contains("Vigilance rouge vent violent"), "{text}");
    assert!(text.contains("envoyée aussitôt"), "{text}");
    assert!(
        text.contains("Vigilance orange vagues-submersion") && text.contains("déjà relayée"),
        "{text}"
    );
    let campaigns = weather_campaigns(&data).await;
    assert_eq!(campaigns.len(), 3);
    // The orange wind still waiting was replaced by the red one: withdrawn
    assert!(campaigns
        .iter()
        .any(|(s, t)| *s == CampaignStatus::Rejected && t.contains("orange vent violent")));

    // Météo-France lifts both: each end is announced once, as its alert was (red: at once)
    std::fs::write(&file, document(&[("3310", "9", 2)])).unwrap();
    let out = check(&data, &file);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Fin de vigilance rouge vent violent (domaine 33"),
        "{text}"
    );
    assert!(
        text.contains("Fin de vigilance rouge vagues-submersion (domaine 3310"),
        "{text}"
    );
    assert_eq!(text.matches("fin d'alerte envoyée").count(), 2, "{text}");
    let out = check(&data, &file);
    assert!(!said(&out).contains("Fin de vigilance"), "{}", said(&out));
}

#[tokio::test]
async fn a_template_that_fails_for_storms_does_not_stop_their_red_alert() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("encours.json");
    // GIVEN templates an older version saved: the SMS names an unknown variable for storms only
    std::fs::create_dir_all(&data).unwrap();
    let bad = AlertTemplates {
        alert_sms:
            "{% if phenomene == \"orages\" %}{{ inconnue }}{% endif %}Vigilance {{ couleur }}."
                .into(),
        ..AlertTemplates::default()
    };
    WeatherStore::save_templates(&store(&data), &bad)
        .await
        .unwrap();
    // WHEN red storms come in
    std::fs::write(&file, document(&[("33", "3", 4)])).unwrap();
    let out = check(&data, &file);
    // THEN the alert goes out with the built-in texts, and the line says so
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Vigilance rouge orages (domaine 33"),
        "{text}"
    );
    assert!(text.contains("envoyée aussitôt"), "{text}");
    assert!(text.contains("texte intégré utilisé"), "{text}");
    assert!(text.contains("alert_sms : Variable inconnue"), "{text}");
    let campaigns = weather_campaigns(&data).await;
    assert!(
        campaigns
            .iter()
            .any(|(s, t)| *s == CampaignStatus::Sending && t.contains("rouge orages")),
        "{campaigns:?}"
    );
}

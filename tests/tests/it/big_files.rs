//! Big exports and imports (#15): the file goes through a link of the file drop, never through a
//! request or a response, and is read or written step by step beside the requests. Over HTTP on
//! a real server, and through the use cases with steps small enough that every rule meets a
//! part boundary.

use std::sync::Arc;

use crate::common::*;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use telmail_core::clock::ManualClock;
use telmail_core::config::BigFiles;
use telmail_core::domain::file_job::{ExportOrder, FileJob, FileJobStatus, FileStep, ImportMode};
use telmail_core::domain::queue::JobOutcome;
use telmail_core::ports::{FileDrop, FileJobStore, SubscriberQuery, SubscriberReports};
use telmail_local::outbox::Outbox;
use telmail_tests::staff;
use telmail_tests::world::{outbox, World};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("accueil", "accueil", None, None).await;
    app
}

/// A CSV of `n` subscribers, `;`-separated with CRLF as spreadsheets write it; each line carries a
/// long form reference so that a few thousand lines pass the import's step of 1 MiB.
fn spreadsheet(n: usize) -> String {
    let mut csv = String::from("email;telephone;themes;canaux;reference\r\n");
    for i in 0..n {
        csv.push_str(&format!(
            "habitant.{i}.residence-les-pins.moulleau@arcachon.example;;Culture/Animations;;formulaire papier n°{i:06}, accueil de la mairie, hiver 2026, boîte {}\r\n",
            i % 40
        ));
    }
    csv
}

async fn wait_done(staff: &StaffClient<'_>, app: &TestApp, id: &str) -> Value {
    app.drain().await;
    staff.read(&format!("/api/admin/files/{id}")).await
}

#[tokio::test]
async fn a_big_import_is_sent_to_its_link_then_read_part_by_part() {
    let app = app().await;
    let redac = app.login("redac").await;
    let mut csv = spreadsheet(9_000);
    // A bad line and, past the first step, the first line's address again.
    csv.push_str("pas-une-adresse;;Culture/Animations;;\r\n");
    csv.push_str(
        "habitant.0.residence-les-pins.moulleau@arcachon.example;;Culture/Animations;;\r\n",
    );
    assert!(csv.len() > 1 << 20, "the file spans more than one step");

    let started = redac
        .post_empty_expect("/api/admin/files/imports?mode=valid_only", 201)
        .await;
    assert_eq!(started["status"], "awaiting_file");
    let id = started["id"].as_str().unwrap().to_owned();
    // Reading before the file is there is refused, in French.
    let early = redac
        .post_empty_expect(&format!("/api/admin/files/{id}/received"), 422)
        .await;
    assert!(early.to_string().contains("n'a pas été reçu"), "{early}");

    // The browser sends the file to the link, with no session: the link is the grant.
    let upload = app.url(started["upload_url"].as_str().unwrap());
    let sent = reqwest::Client::new()
        .put(&upload)
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let reading = redac
        .post_empty_expect(&format!("/api/admin/files/{id}/received"), 202)
        .await;
    assert_eq!(reading["status"], "importing");

    let job = wait_done(&redac, &app, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert!(job["step"].as_u64().unwrap() >= 2, "{job}");
    assert_eq!(job["lines"], 9_002);
    assert_eq!(job["imported"], 9_000);
    assert_eq!(job["refused_lines"], 2);
    let errors = job["errors"].as_array().unwrap();
    assert_eq!(errors[0]["line"], 9_002);
    assert_eq!(errors[0]["field"], "email");
    assert_eq!(errors[1]["line"], 9_003);
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .contains("ligne 2 du fichier"),
        "{job}"
    );
    let all = app
        .store()
        .search(&SubscriberQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 9_000);

    // An upload link is not a download link, and a forged one is refused in French.
    let wrong_use = reqwest::get(&upload).await.unwrap();
    assert_eq!(wrong_use.status(), 403);
    let forged = reqwest::Client::new()
        .put(format!("{upload}x"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_file_drop_headers(forged.headers());
    assert!(forged.text().await.unwrap().contains("expiré"));
    app.stop().await;
}

#[tokio::test]
async fn an_upload_link_dies_once_its_file_is_received_and_the_steps_read_only_the_size_checked() {
    // GIVEN an all-or-nothing import whose file of three good lines was received
    let app = app().await;
    let redac = app.login("redac").await;
    let started = redac
        .post_empty_expect("/api/admin/files/imports?mode=all_or_nothing", 201)
        .await;
    let id = started["id"].as_str().unwrap().to_owned();
    let upload = app.url(started["upload_url"].as_str().unwrap());
    let good = spreadsheet(3);
    let put = |body: String| reqwest::Client::new().put(&upload).body(body).send();
    assert_eq!(put(good.clone()).await.unwrap().status(), 200);
    let reading = redac
        .post_empty_expect(&format!("/api/admin/files/{id}/received"), 202)
        .await;
    assert_eq!(reading["status"], "checking");

    // WHEN the same link is used again, with a file whose line 5 is bad
    let bad_line = "pas-une-adresse;;Culture/Animations;;\r\n";
    let again = put(format!("{good}{bad_line}")).await.unwrap();

    // THEN it is refused, in French
    assert_eq!(again.status(), 409);
    assert_file_drop_headers(again.headers());
    assert!(again.text().await.unwrap().contains("déjà été reçu"));

    // WHEN the file grows behind the link all the same (an S3 link cannot be revoked)
    let file = app.data_dir.join(format!("files/jobs/{id}/fichier.csv"));
    let mut grown = std::fs::read(&file).unwrap();
    assert_eq!(grown, good.as_bytes(), "the file checked is the one kept");
    grown.extend_from_slice(bad_line.as_bytes());
    std::fs::write(&file, grown).unwrap();

    // THEN the steps read only the size checked: the three lines, all imported
    let job = wait_done(&redac, &app, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        (&job["lines"], &job["imported"], &job["refused_lines"]),
        (&json!(3), &json!(3), &json!(0)),
        "{job}"
    );
    app.stop().await;
}

/// What every answer of `/fichiers/` carries, refusals and files alike (#26, point 12).
fn assert_file_drop_headers(h: &reqwest::header::HeaderMap) {
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    );
}

#[tokio::test]
async fn an_export_is_written_beside_the_request_and_downloaded_through_its_link() {
    let app = app().await;
    let redac = app.login("redac").await;
    for i in 0..3 {
        redac
            .post_expect(
                "/api/admin/subscribers",
                &json!({
                    "email": format!("export{i}@arcachon.example"),
                    "subscriptions": [{ "topic": "culture-animations", "channels": ["email"] }],
                    "paper_form_reference": format!("F-{i}")
                }),
                201,
            )
            .await;
    }
    let started = redac
        .post_empty_expect("/api/admin/files/exports", 202)
        .await;
    assert_eq!(started["status"], "exporting");
    assert!(started["download_url"].is_null());
    let id = started["id"].as_str().unwrap().to_owned();
    let job = wait_done(&redac, &app, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["rows"], 3);
    let link = app.url(job["download_url"].as_str().unwrap());
    let file = reqwest::get(&link).await.unwrap();
    assert_eq!(file.status(), 200);
    assert_file_drop_headers(file.headers());
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"abonnes-telmail-"));
    let bytes = file.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFid;email;telephone;statut"));
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("export2@arcachon.example"));

    let listed = redac.read("/api/admin/files").await;
    assert_eq!(listed[0]["id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn only_the_file_keepers_export_and_import() {
    let app = app().await;
    for who in ["cab", "accueil"] {
        let staff = app.login(who).await;
        staff
            .post_empty_expect("/api/admin/files/exports", 403)
            .await;
        staff
            .post_empty_expect("/api/admin/files/imports", 403)
            .await;
        staff.get_expect("/api/admin/files", 403).await;
    }
    let redac = app.login("redac").await;
    let bad = redac
        .post_empty_expect("/api/admin/files/imports?mode=tout", 422)
        .await;
    assert!(bad.to_string().contains("Mode inconnu"), "{bad}");
    redac.get_expect("/api/admin/files/pas-un-id", 404).await;
    app.stop().await;
}

/// The embedded service with steps of a few hundred bytes (and the folder of its outbox).
async fn world() -> (World<Outbox>, tempfile::TempDir) {
    world_sorting(100_000).await
}

/// [`world`], sorting exports of at most `sort_limit` subscribers.
async fn world_sorting(sort_limit: usize) -> (World<Outbox>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
    ));
    let w = World::on_clock(clock.clone(), outbox(dir.path(), None, clock), |c| {
        c.big_files = BigFiles {
            import_bytes: 300,
            export_bytes: 200,
            export_page: 3,
            concurrency: 4,
            sort_limit,
        }
    })
    .await;
    (w, dir)
}

/// Starts an import of `csv` through the use cases, runs it to its end, and gives the job.
async fn import(w: &World<Outbox>, csv: &str, mode: ImportMode, dry_run: bool) -> FileJob {
    import_updating(w, csv, mode, dry_run, false).await
}

/// [`import`], in update mode when `update`.
async fn import_updating(
    w: &World<Outbox>,
    csv: &str,
    mode: ImportMode,
    dry_run: bool,
    update: bool,
) -> FileJob {
    let uc = &w.use_cases();
    let redac = staff("redac", "redaction");
    let started = uc
        .file_jobs
        .start_import(&redac, mode, dry_run, update)
        .await
        .unwrap();
    let key = started.job.id.file_key();
    w.services
        .files
        .put(&key, csv.as_bytes().to_vec())
        .await
        .unwrap();
    uc.file_jobs
        .file_sent(&redac, started.job.id)
        .await
        .unwrap();
    w.drain().await;
    w.services
        .store
        .file_job(started.job.id)
        .await
        .unwrap()
        .unwrap()
}

async fn count(w: &World<Outbox>) -> usize {
    w.services
        .store
        .search(&SubscriberQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

/// Twenty good lines (a blank line among them: the last is line 22) with CRLF ends and a
/// byte-order mark, then `extra`.
fn tricky(extra: &str) -> String {
    let mut csv = String::from("\u{feff}email,themes,reference\r\n");
    for i in 0..20 {
        if i == 7 {
            csv.push_str("\r\n");
        }
        csv.push_str(&format!(
            "personne{i}@arcachon.example,Alerte météo,F-{i}\r\n"
        ));
    }
    csv.push_str(extra);
    csv
}

/// The first line's address again (line 23), a cell over two lines (24–25), a good line (26).
const FAULTS: &str = "PERSONNE0@arcachon.example,Alerte météo,F-X\r\npersonne50@arcachon.example,Alerte météo,\"formulaire\r\nsur deux lignes\"\r\npersonne51@arcachon.example,Alerte météo,F-51\r\n";

#[tokio::test]
async fn all_or_nothing_checks_every_part_before_writing_and_refuses_a_duplicate_parts_apart() {
    let (w, _outbox) = world().await;
    let job = import(&w, &tricky(FAULTS), ImportMode::AllOrNothing, false).await;
    assert_eq!(job.status, FileJobStatus::Done);
    assert!(job.step >= 4, "several small steps: {}", job.step);
    assert_eq!((job.lines, job.imported, job.refused_lines), (23, 0, 2));
    assert_eq!(job.errors[0].line, 23);
    assert!(
        job.errors[0].message.contains("ligne 2 du fichier"),
        "{:?}",
        job.errors
    );
    assert_eq!(job.errors[1].line, 24);
    assert!(
        job.errors[1].message.contains("jusqu'à la ligne 25"),
        "{:?}",
        job.errors
    );
    assert_eq!(count(&w).await, 0, "nothing written");

    let job = import(&w, &tricky(""), ImportMode::AllOrNothing, false).await;
    assert_eq!(
        (job.status, job.lines, job.imported),
        (FileJobStatus::Done, 20, 20)
    );
    assert!(job.errors.is_empty(), "{:?}", job.errors);
    assert_eq!(count(&w).await, 20);

    // The same file again: every line is already in the file, reported at its own line.
    let job = import(&w, &tricky(""), ImportMode::ValidOnly, true).await;
    assert_eq!((job.imported, job.refused_lines), (0, 20));
    assert_eq!(job.errors[0].line, 2);
    assert_eq!(job.errors.last().unwrap().line, 22);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_an_unusable_file_fails_with_its_reason() {
    let (w, _outbox) = world().await;
    let job = import(&w, &tricky(""), ImportMode::ValidOnly, true).await;
    assert_eq!(
        (job.status, job.lines, job.imported),
        (FileJobStatus::Done, 20, 0)
    );
    assert_eq!(count(&w).await, 0);

    let job = import(
        &w,
        "nom;prenom\r\nDupont;Jean\r\n",
        ImportMode::ValidOnly,
        false,
    )
    .await;
    assert_eq!(job.status, FileJobStatus::Failed);
    assert!(job.failure.unwrap().starts_with("Ligne 1 : "));
    let job = import(&w, "email;themes\r\n\r\n", ImportMode::ValidOnly, false).await;
    assert_eq!(job.status, FileJobStatus::Failed);
    assert!(job.failure.unwrap().contains("que la ligne d'en-tête"));
}

#[tokio::test]
async fn a_step_run_twice_counts_once_and_finds_what_its_first_run_wrote() {
    let (w, _outbox) = world().await;
    let uc = &w.use_cases();
    let redac = staff("redac", "redaction");
    let started = uc
        .file_jobs
        .start_import(&redac, ImportMode::ValidOnly, false, false)
        .await
        .unwrap();
    let id = started.job.id;
    w.services
        .files
        .put(&id.file_key(), tricky("").into_bytes())
        .await
        .unwrap();
    uc.file_jobs.file_sent(&redac, id).await.unwrap();
    let first = FileStep { job: id, step: 0 };
    assert_eq!(
        uc.file_jobs.run_step(&first).await.unwrap(),
        JobOutcome::Done
    );
    let before = w.services.store.file_job(id).await.unwrap().unwrap();
    // The second step: it reads the memory of the first's addresses.
    let second = FileStep { job: id, step: 1 };
    uc.file_jobs.run_step(&second).await.unwrap();
    let after = w.services.store.file_job(id).await.unwrap().unwrap();
    assert!(after.imported > before.imported);
    // Delivered again: nothing more.
    uc.file_jobs.run_step(&second).await.unwrap();
    assert_eq!(w.services.store.file_job(id).await.unwrap().unwrap(), after);
    // As if its first run had written its lines and its memory but not recorded its step: run
    // again, it reads the memory it read the first time, and its subscribers are recognised as
    // its own, not refused as duplicates.
    w.services.store.save_file_job(&before, 2).await.unwrap();
    uc.file_jobs.run_step(&second).await.unwrap();
    let again = w.services.store.file_job(id).await.unwrap().unwrap();
    assert_eq!(
        (again.imported, again.refused_lines),
        (after.imported, 0),
        "{:?}",
        again.errors
    );
    w.drain().await;
    let done = w.services.store.file_job(id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.imported),
        (FileJobStatus::Done, 20),
        "{:?}",
        done.errors
    );
    assert_eq!(count(&w).await, 20);
    // The import's file and memories are deleted once its report is final.
    assert_eq!(w.services.files.size(&id.file_key()).await.unwrap(), None);
    for step in 0..=done.step + 1 {
        assert_eq!(
            w.services.files.size(&id.seen_key(step)).await.unwrap(),
            None,
            "memory {step}"
        );
    }
}

#[tokio::test]
async fn an_export_in_many_parts_holds_every_subscriber_once() {
    let (w, _outbox) = world().await;
    import(&w, &tricky(""), ImportMode::ValidOnly, false).await;
    let redac = staff("redac", "redaction");
    let uc = &w.use_cases();
    let job = uc
        .file_jobs
        .start_export(&redac, ExportOrder::Date)
        .await
        .unwrap();
    w.drain().await;
    let view = uc.file_jobs.view(&redac, job.id).await.unwrap();
    assert_eq!(view.job.status, FileJobStatus::Done);
    assert!(view.job.export.as_ref().unwrap().parts.len() > 3);
    assert!(view.download_url.unwrap().starts_with("/fichiers/"));
    let bytes = w
        .services
        .files
        .read(&job.id.file_key(), 0, u64::MAX)
        .await
        .unwrap();
    let whole = uc.subscriber_file.export(&redac).await.unwrap();
    let rows = |b: &[u8]| {
        let mut lines: Vec<String> = String::from_utf8(b.to_vec())
            .unwrap()
            .split("\r\n")
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        rows(&bytes),
        rows(&whole),
        "the same rows as the export in one piece"
    );
}

/// The `email` column of an export job's file, in its order.
async fn exported_emails(w: &World<Outbox>, order: ExportOrder) -> (Vec<String>, bool) {
    let redac = staff("redac", "redaction");
    let uc = &w.use_cases();
    let job = uc.file_jobs.start_export(&redac, order).await.unwrap();
    w.drain().await;
    let view = uc.file_jobs.view(&redac, job.id).await.unwrap();
    assert_eq!(view.job.status, FileJobStatus::Done);
    let bytes = w
        .services
        .files
        .read(&job.id.file_key(), 0, u64::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let emails = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(';').nth(1).unwrap().to_owned())
        .collect();
    (emails, view.job.export.unwrap().unsorted)
}

#[tokio::test]
async fn an_export_is_sorted_by_date_or_by_contact_and_a_file_too_big_to_sort_says_so() {
    // GIVEN people imported at 9:00, then « aa » and « mm » at 10:00
    let (w, _outbox) = world().await;
    import(&w, &tricky(""), ImportMode::ValidOnly, false).await;
    w.clock.advance(chrono::Duration::hours(1));
    let later =
        "email,themes\r\nmm@arcachon.example,Alerte météo\r\naa@arcachon.example,Alerte météo\r\n";
    import(&w, later, ImportMode::ValidOnly, false).await;
    // WHEN exported by date (the default): the latest sign-ups come last
    let (by_date, unsorted) = exported_emails(&w, ExportOrder::Date).await;
    assert!(!unsorted);
    assert_eq!(by_date.len(), 22);
    let mut last_two = by_date[20..].to_vec();
    last_two.sort();
    assert_eq!(last_two, ["aa@arcachon.example", "mm@arcachon.example"]);
    // WHEN exported by contact: in alphabetical order
    let (by_contact, _) = exported_emails(&w, ExportOrder::Contact).await;
    let mut sorted = by_contact.clone();
    sorted.sort();
    assert_eq!(by_contact, sorted);
    assert_eq!(by_contact[0], "aa@arcachon.example");

    // GIVEN a service that sorts at most 5 subscribers: the export holds every row, unsorted
    let (small, _outbox) = world_sorting(5).await;
    import(&small, &tricky(""), ImportMode::ValidOnly, false).await;
    let (rows, unsorted) = exported_emails(&small, ExportOrder::Contact).await;
    assert!(unsorted, "said to be unsorted");
    assert_eq!(rows.len(), 20);
}

#[tokio::test]
async fn the_update_mode_adds_the_topics_of_people_on_file_and_never_changes_a_contact() {
    // GIVEN three people on file for the weather alerts, one by email and phone
    let (w, _outbox) = world().await;
    let first = "email,telephone,themes\r\nune@arcachon.example,,Alerte météo\r\ndeux@arcachon.example,06 12 34 56 78,Alerte météo\r\nquatre@arcachon.example,,Alerte météo\r\n";
    assert_eq!(
        import(&w, first, ImportMode::ValidOnly, false)
            .await
            .imported,
        3
    );
    // WHEN a file names them again with another topic (the second with another mobile), and a
    // newcomer; without update mode both are refused as « déjà inscrit »
    let again = "email,telephone,themes\r\nune@arcachon.example,,Culture/Animations\r\ndeux@arcachon.example,06 99 99 99 99,Culture/Animations\r\ntrois@arcachon.example,,Culture/Animations\r\nquatre@arcachon.example,,Alerte météo\r\n";
    let refused = import(&w, again, ImportMode::ValidOnly, true).await;
    assert_eq!(refused.refused_lines, 3, "{refused:?}");
    // THEN in update mode, checked first: what it would add, line by line, nothing written
    let checked = import_updating(&w, again, ImportMode::AllOrNothing, true, true).await;
    assert_eq!(
        (checked.refused_lines, checked.updated),
        (1, 1),
        "{:?}",
        checked.errors
    );
    assert_eq!(checked.errors[0].line, 3);
    assert!(checked.errors[0]
        .message
        .contains("autre adresse ou un autre numéro"));
    assert_eq!(checked.notes[0].line, 2);
    assert!(
        checked.notes[0]
            .message
            .contains("thèmes à ajouter : Culture/Animations (e-mail)"),
        "{:?}",
        checked.notes
    );
    assert_eq!(count(&w).await, 3);
    // THEN imported: the newcomer created, the first completed, the mobile not changed
    let done = import_updating(&w, again, ImportMode::ValidOnly, false, true).await;
    assert_eq!(
        (done.imported, done.updated, done.refused_lines),
        (1, 1, 1),
        "{:?}",
        done.errors
    );
    let notes: Vec<(usize, &str)> = done
        .notes
        .iter()
        .map(|n| (n.line, n.message.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            (
                2,
                "Déjà inscrit : thèmes ajoutés : Culture/Animations (e-mail)."
            ),
            (5, "Déjà inscrit à ces thèmes : rien à ajouter."),
        ]
    );
    let on_file = w
        .services
        .store
        .search(&SubscriberQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
    let une = on_file
        .iter()
        .find(|s| {
            s.email
                .as_ref()
                .is_some_and(|e| e.as_str() == "une@arcachon.example")
        })
        .unwrap();
    let topics: Vec<String> = une.choices.iter().map(|c| c.topic.to_string()).collect();
    assert_eq!(topics, ["alerte-meteo", "culture-animations"]);
    let deux = on_file
        .iter()
        .find(|s| {
            s.email
                .as_ref()
                .is_some_and(|e| e.as_str() == "deux@arcachon.example")
        })
        .unwrap();
    assert_eq!(deux.phone.as_ref().unwrap().to_string(), "+33612345678");
    assert_eq!(
        deux.choices.len(),
        2,
        "email and SMS for the weather only: {:?}",
        deux.choices
    );
    assert_eq!(count(&w).await, 4);
}

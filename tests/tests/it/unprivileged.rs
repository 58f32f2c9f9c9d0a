//! The real `telmail-local` run as an unprivileged user, as a town's server runs it under
//! systemd (`infra/telmail-local.service`): the big-file journey works and leaves nothing that
//! another user could read (#26, point 10: the file drop's folder was made 0600, which only root
//! can enter, so imports answered 503 and exports were retried forever).
//!
//! CI runs as root: the server is started as `nobody` (uid 65534) through `setpriv`, from a copy
//! of the binary that user can read. Run as another user, the test runs the server as itself.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::common::{wait_for, TestApp, Town};
use telmail_tests::process::LocalProcess;

/// The user a root test runs the server as.
const NOBODY: u32 = 65534;

/// Gives `dir` and everything in it to `uid`.
fn give(dir: &Path, uid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(uid)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            give(&path, uid);
        } else {
            std::os::unix::fs::chown(&path, Some(uid), Some(uid)).unwrap();
        }
    }
}

/// Every folder below `dir` is 0700 and every file 0600, owned by `uid`.
fn assert_private(dir: &Path, uid: u32) {
    let meta = std::fs::metadata(dir).unwrap();
    assert_eq!(meta.uid(), uid, "{}", dir.display());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o700,
        "{}",
        dir.display()
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_private(&path, uid);
        } else {
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(meta.uid(), uid, "{}", path.display());
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn the_big_file_journey_works_for_an_unprivileged_server_and_keeps_its_files_private() {
    let town = Town::new(&["redac:redaction"]);
    let logs = tempfile::tempdir().unwrap();
    let as_root = nix_uid() == 0;
    let wrap = tempfile::tempdir().unwrap();
    let (server, uid) = if as_root {
        give(town.dir(), NOBODY);
        std::fs::set_permissions(wrap.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = wrap.path().join("telmail-local");
        let script = format!(
            "set -e; cp \"$1\" '{copy}'; chmod 0755 '{copy}'; shift; \
             exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups '{copy}' \"$@\"",
            copy = copy.display()
        );
        let wrapper = ["sh", "-c", script.as_str(), "sh"];
        let log = logs.path().join("server.log");
        (
            LocalProcess::start_under(&wrapper, town.dir(), &[], &log).await,
            NOBODY,
        )
    } else {
        let log = logs.path().join("server.log");
        (LocalProcess::start(town.dir(), &[], &log).await, nix_uid())
    };
    let app = TestApp::of_process(&server.base, town.dir());
    let redac = app.login("redac").await;

    // An import: the file sent to its link, then read
    let started = redac
        .post_empty_expect("/api/admin/files/imports?mode=valid_only", 201)
        .await;
    let id = started["id"].as_str().unwrap().to_owned();
    let csv =
        "email;telephone;themes;canaux\r\nnonroot@exemple.fr;;Informations pratiques;email\r\n";
    let sent = reqwest::Client::new()
        .put(app.url(started["upload_url"].as_str().unwrap()))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200, "{}", server.output());
    redac
        .post_empty_expect(&format!("/api/admin/files/{id}/received"), 202)
        .await;
    let imported = wait_for("the import ends", Duration::from_secs(30), || async {
        let job = redac.read(&format!("/api/admin/files/{id}")).await;
        (job["status"] == "done").then_some(job)
    })
    .await;
    assert_eq!(imported["imported"], 1, "{imported}");

    // An export, written then downloaded
    let started = redac
        .post_empty_expect("/api/admin/files/exports", 202)
        .await;
    let id = started["id"].as_str().unwrap().to_owned();
    let done = wait_for("the export ends", Duration::from_secs(30), || async {
        let job = redac.read(&format!("/api/admin/files/{id}")).await;
        (job["status"] == "done").then_some(job)
    })
    .await;
    let file = reqwest::get(app.url(done["download_url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.text().await.unwrap().contains("nonroot@exemple.fr"));

    // Nothing in the data folder is anyone else's to read
    assert_private(&town.dir().join("files"), uid);
    assert_private(&town.dir().join("outbox"), uid);
    drop(server);
}

/// The test's own user id.
fn nix_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

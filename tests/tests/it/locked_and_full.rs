//! The real `telmail-local` when its SQLite file is locked by another program, and when its
//! disk is full (#16): staff writing get a French error saying which (503, `storage_busy` or
//! `storage_full`), nothing is half-written, reads still answer, and the same request succeeds
//! once the lock is let go or space is freed; `PRAGMA integrity_check` stays `ok`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{email_campaign, StaffClient, TestApp, Town};
use serde_json::{json, Value};
use telmail_tests::process::{self, LocalProcess};

/// A paper form for one resident.
fn paper_form(email: &str) -> Value {
    json!({
        "email": email, "paper_form_reference": "F-1",
        "subscriptions": [{ "topic": "infos-pratiques", "channels": ["email"] }]
    })
}

/// How many subscribers a search by address finds.
async fn found(by: &StaffClient<'_>, email: &str) -> usize {
    let v = by.read(&format!("/api/admin/subscribers?q={email}")).await;
    v["items"].as_array().unwrap().len()
}

/// Asserts a refusal: 503 with `code` and a French message containing `words`.
async fn refused(resp: reqwest::Response, code: &str, words: &[&str]) {
    let body = StaffClient::expect(resp, 503).await;
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().unwrap();
    for w in words {
        assert!(message.contains(w), "« {w} » not in « {message} »");
    }
}

/// Another program (Python's sqlite3) holding the write lock of a database until dropped.
struct LockHolder(Child);

impl LockHolder {
    fn take(db: &Path) -> Self {
        let script = "import sqlite3, sys\n\
            c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
            c.execute('BEGIN EXCLUSIVE')\n\
            print('locked', flush=True)\n\
            sys.stdin.read()\n\
            c.execute('ROLLBACK')\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (with its sqlite3 module) holds the lock: install Python 3");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "python3 could not take the lock");
        Self(child)
    }

    /// Lets go: the program ends its transaction and exits.
    fn release(mut self) {
        drop(self.0.stdin.take());
        assert!(self.0.wait().unwrap().success());
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_program_is_a_french_try_again_then_the_same_request_succeeds()
{
    let started = telmail_tests::stopwatch();
    let mut town = Town::new(&["redac:redaction"]);
    let (_server, app) = town.start(&[]).await;
    let redac = app.login("redac").await;

    let lock = LockHolder::take(&town.dir().join("telmail.sqlite"));
    let waited = telmail_tests::stopwatch();
    refused(
        redac
            .post("/api/admin/subscribers", &paper_form("lea@exemple.fr"))
            .await,
        "storage_busy",
        &[
            "verrouillée par un autre programme",
            "Rien n'a été modifié",
            "réessayez",
        ],
    )
    .await;
    eprintln!("answered after {:?} of lock", waited.elapsed());
    // Reading goes on under the lock (WAL), and shows nothing was written.
    let read = telmail_tests::stopwatch();
    assert_eq!(found(&redac, "lea@exemple.fr").await, 0);
    // Not behind the queue consumers' polls on the shared connection (15 s before they gave up
    // at once under another program's lock).
    assert!(
        read.elapsed() < Duration::from_secs(3),
        "{:?}",
        read.elapsed()
    );

    lock.release();

    redac
        .post_expect("/api/admin/subscribers", &paper_form("lea@exemple.fr"), 201)
        .await;
    assert_eq!(found(&redac, "lea@exemple.fr").await, 1);
    assert_eq!(process::integrity(town.dir()).await, "ok");
    eprintln!("{:?} in all", started.elapsed());
}

/// A small tmpfs mounted on a temporary folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (`8m`), or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(Self { dir })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process dying): detach it now, it goes when released.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Fills the file system holding `dir` with one file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("remplissage");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // What a partial write left to the last block.
    while file.write(&[0u8]).is_ok_and(|n| n == 1) {}
    path
}

/// The data folder on a small tmpfs, the server started on it, and the test's path to it.
enum Disk {
    /// Mounted by the test (root, as in CI).
    Mounted { _disk: Tmpfs, _town: Town },
    /// Mounted by the server's own process in a user and mount namespace it was started in
    /// (`unshare`, where mounting is not permitted): the test reaches it through the
    /// process's root, `/proc/<pid>/root`.
    InTheServersNamespace { _dir: tempfile::TempDir },
}

const DISK_SIZE: &str = "16m";

/// Starts the server with `redac` on a data folder of its own small disk.
async fn on_a_small_disk(logs: &Path) -> (Disk, LocalProcess, TestApp) {
    let forced = std::env::var("TELMAIL_TEST_DISK").unwrap_or_default();
    let mounted = match forced.as_str() {
        "unshare" => Err("TELMAIL_TEST_DISK=unshare".to_owned()),
        _ => Tmpfs::mount(DISK_SIZE),
    };
    match mounted {
        Ok(disk) => {
            eprintln!("disk: a {DISK_SIZE} tmpfs mounted by the test");
            let mut town = Town::at(disk.path(), &["redac:redaction"]);
            let (server, app) = town.start(&[]).await;
            let disk = Disk::Mounted {
                _disk: disk,
                _town: town,
            };
            (disk, server, app)
        }
        Err(why) => {
            eprintln!(
                "disk: cannot mount here ({why}); a {DISK_SIZE} tmpfs mounted in the \
                 server's own user and mount namespace (unshare) instead"
            );
            let dir = tempfile::tempdir().unwrap();
            let script = format!(
                "mount -t tmpfs -o size={DISK_SIZE},mode=0700 tmpfs '{dir}' \
                 && TELMAIL_PASSWORD='{password}' \"$1\" --data-dir '{dir}' \
                    staff add redac --roles redaction \
                 && exec \"$@\"",
                dir = dir.path().display(),
                password = process::STAFF_PASSWORD,
            );
            let wrapper = [
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                &script,
                "sh",
            ];
            let server =
                LocalProcess::start_under(&wrapper, dir.path(), &[], &logs.join("server.log"))
                    .await;
            let seen = PathBuf::from(format!("/proc/{}/root", server.id()))
                .join(dir.path().strip_prefix("/").unwrap());
            let app = TestApp::of_process(&server.base, &seen);
            (Disk::InTheServersNamespace { _dir: dir }, server, app)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_french_error_for_staff_nothing_half_written_and_writing_resumes_once_freed(
) {
    let started = telmail_tests::stopwatch();
    let logs = tempfile::tempdir().unwrap();
    let (disk, server, app) = on_a_small_disk(logs.path()).await;
    let dir = app.data_dir.clone();
    let redac = app.login("redac").await;
    redac
        .post_expect(
            "/api/admin/subscribers",
            &paper_form("paul@exemple.fr"),
            201,
        )
        .await;

    let filler = fill(&dir);
    let full = ["le disque du serveur est plein", "Rien n'a été modifié"];
    refused(
        redac
            .post("/api/admin/subscribers", &paper_form("lea@exemple.fr"))
            .await,
        "storage_full",
        &full,
    )
    .await;
    refused(
        redac
            .post("/api/admin/campaigns", &email_campaign("Marché de Noël"))
            .await,
        "storage_full",
        &full,
    )
    .await;
    // Reading goes on, and shows nothing was written.
    assert_eq!(found(&redac, "lea@exemple.fr").await, 0);
    assert_eq!(found(&redac, "paul@exemple.fr").await, 1);
    let campaigns = redac.read("/api/admin/campaigns").await;
    let listed = campaigns.as_array().or(campaigns["items"].as_array());
    assert_eq!(listed.map(Vec::len), Some(0), "{campaigns}");

    std::fs::remove_file(filler).unwrap();
    redac
        .post_expect("/api/admin/subscribers", &paper_form("lea@exemple.fr"), 201)
        .await;
    redac
        .post_expect(
            "/api/admin/campaigns",
            &email_campaign("Marché de Noël"),
            201,
        )
        .await;
    assert_eq!(found(&redac, "lea@exemple.fr").await, 1);
    assert_eq!(process::integrity(&dir).await, "ok");
    // The server goes before its disk is unmounted.
    drop(server);
    drop(disk);
    eprintln!("{:?} in all", started.elapsed());
}

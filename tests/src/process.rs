//! The real `telmail-local` binary as a child process on a data folder, as a town's server runs
//! it: accounts made with its `staff add` command, started, killed without warning (SIGKILL)
//! and started again on the same folder. The test command builds every binary before
//! `cargo test`, so the binary beside the test executable is the one of this checkout.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use telmail_core::error::StoreError;
use telmail_local::db::{sql_err, Db};

/// The password of the accounts `staff_add` creates (what the tests' `login` types).
pub const STAFF_PASSWORD: &str = "mot de passe très solide";

/// `target/<profile>/telmail-local`, found from the test executable (`target/<profile>/deps/…`).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/<profile>/deps");
    let bin = dir.join(format!("telmail-local{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p telmail-local` before these tests \
         (scripts/test-all.sh builds every binary first)",
        bin.display()
    );
    bin
}

/// The binary on a data folder, without inherited settings.
fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TELMAIL_") {
            cmd.env_remove(name);
        }
    }
    cmd.arg("--data-dir").arg(data_dir).env("RUST_LOG", "warn");
    cmd
}

/// `telmail-local staff add <username> --roles <roles>`, the password from `TELMAIL_PASSWORD`.
pub fn staff_add(data_dir: &Path, username: &str, roles: &str) {
    let out = command(data_dir)
        .args(["staff", "add", username, "--roles", roles])
        .env("TELMAIL_PASSWORD", STAFF_PASSWORD)
        .output()
        .expect("run telmail-local staff add");
    assert!(
        out.status.success(),
        "staff add {username}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `telmail-local`; killed (SIGKILL) when dropped.
pub struct LocalProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// What it printed (its start lines and its warnings), outside the data folder.
    pub log: PathBuf,
}

impl LocalProcess {
    /// Starts the server on `data_dir` with `args` on a free port; returns once `/healthz`
    /// answers. Its output goes to `log`.
    pub async fn start(data_dir: &Path, args: &[&str], log: &Path) -> Self {
        Self::start_under(&[], data_dir, args, log).await
    }

    /// The same, the binary started by `wrapper` (a command that ends by running its
    /// arguments: `sh -c '…; exec "$@"' sh`), whose process it becomes.
    pub async fn start_under(wrapper: &[&str], data_dir: &Path, args: &[&str], log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("the server's log file");
        let err = out.try_clone().expect("the server's log file");
        let mut cmd = command(data_dir);
        if let Some((program, before)) = wrapper.split_first() {
            let inner = cmd;
            cmd = Command::new(program);
            cmd.args(before)
                .arg(inner.get_program())
                .args(inner.get_args());
            for (name, value) in inner.get_envs() {
                match value {
                    Some(v) => cmd.env(name, v),
                    None => cmd.env_remove(name),
                };
            }
        }
        // SMS go at any hour of any day unless a test gives its own window: what a test checks
        // must not depend on when it runs.
        let child = cmd
            .env(
                "TELMAIL_SMS_WINDOW",
                telmail_core::domain::sending_window::ALWAYS_OPEN,
            )
            .args(["--port", "0", "--rate-limit-per-minute", "10000"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start telmail-local");
        let mut server = Self {
            child,
            base: String::new(),
            log: log.to_owned(),
        };
        let deadline = crate::stopwatch() + Duration::from_secs(20);
        let client = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("telmail-local exited ({status}):\n{}", server.output());
            }
            if server.base.is_empty() {
                // "  Inscription des habitants : http://127.0.0.1:PORT/inscription"
                if let Some(url) = server
                    .output()
                    .lines()
                    .find_map(|l| l.split_once("Inscription des habitants : ").map(|(_, u)| u))
                {
                    server.base = url.trim().trim_end_matches("/inscription").to_owned();
                }
            } else if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            assert!(
                crate::stopwatch() < deadline,
                "telmail-local not ready in 20 s:\n{}",
                server.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills it with SIGKILL: no clean stop, nothing finishes, nothing is flushed.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// A handle on a data folder's database from the test (the server may be running: WAL lets
/// both read), to look at what is stored.
pub fn database(data_dir: &Path) -> Db {
    Db::open(&data_dir.join("telmail.sqlite")).expect("open the data folder's database")
}

/// One number a query counts.
pub async fn count(db: &Db, sql: &'static str) -> i64 {
    db.call(move |c| c.query_row(sql, [], |r| r.get(0)).map_err(sql_err))
        .await
        .expect("a count")
}

/// What a restart `down_for` after the server died finds, without waiting that long: the
/// instants the recovery reads — the queue's lease ends and visibility times, and the claims
/// (`sending` deliveries) — are moved back by `down_for`, as if the kill had happened that much
/// earlier. Only for a stopped server's folder.
pub async fn as_if_down_for(data_dir: &Path, down_for: Duration) -> Result<(), StoreError> {
    let db = database(data_dir);
    let ms = i64::try_from(down_for.as_millis()).expect("a short duration");
    db.write(move |tx| {
        tx.execute(
            "UPDATE jobs SET available_at = available_at - ?1,
                             leased_until = leased_until - ?1",
            [ms],
        )
        .map_err(sql_err)?;
        tx.execute(
            "UPDATE deliveries SET updated_at = updated_at - ?1 WHERE status = 'sending'",
            [ms * 1000],
        )
        .map_err(sql_err)?;
        Ok(())
    })
    .await
}

/// `PRAGMA integrity_check` of a data folder's database: `ok` when sound.
pub async fn integrity(data_dir: &Path) -> String {
    let db = database(data_dir);
    db.call(|c| {
        c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .map_err(sql_err)
    })
    .await
    .expect("integrity check")
}

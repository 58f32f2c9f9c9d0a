//! SIGTERM (systemd, `docker stop`) stops the real binary as cleanly as Ctrl+C does.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_telmail-local"))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path())
        .env("TELMAIL_SIGNING_KEY", "k".repeat(40))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("Télmail est prêt"));
    assert!(ready, "the server started");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // A real-time limit on the child process, not the service's time.
    #[allow(clippy::disallowed_methods)]
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        assert!(now < deadline, "still running 20 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let said: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(said.iter().any(|l| l.contains("SIGTERM")), "{said:?}");
    assert!(
        said.iter().any(|l| l.contains("Télmail est arrêté")),
        "{said:?}"
    );
}

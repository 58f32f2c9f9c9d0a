//! The public sign-up under load (#16): the local server (in this process, the rate limit raised
//! for the run) on 127.0.0.1, driven by a real load generator, [oha](https://crates.io/crates/oha),
//! at a fixed rate: requests per second and p50/p99 latency of `GET /inscription` and
//! `POST /api/subscriptions`. Target: p99 ≤ 50 ms at 500 requests/s.
//!
//! `cargo bench -p telmail-tests --bench public_load` (10 s per route at 500/s; oha is built from
//! crates.io into `target/tools` the first time). `TELMAIL_LOAD_RATE` and `TELMAIL_LOAD_SECONDS`
//! change the rate and the duration; `TELMAIL_OHA` names another oha binary. `cargo test` runs
//! it as a smoke run: a few requests of each kind without oha, checking the answers.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use telmail_local::config::ServerArgs;

/// The oha release the benchmark installs.
const OHA_VERSION: &str = "1.16.0";
/// The most p99 latency allowed, in milliseconds.
const P99_TARGET_MS: f64 = 50.0;

/// What the `i`-th resident's browser posts: their email address on one topic.
fn signup_body(i: u32) -> String {
    json!({
        "email": format!("habitant{i}@exemple.fr"),
        "subscriptions": [{ "topic": "infos-pratiques", "channels": ["email"] }],
        "consent": true,
    })
    .to_string()
}

/// The workspace's `target` folder (this bench runs from `target/<profile>/deps`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The oha binary: `TELMAIL_OHA`, or the one in `target/tools`, installed there if missing.
fn oha() -> PathBuf {
    if let Ok(path) = std::env::var("TELMAIL_OHA") {
        return PathBuf::from(path);
    }
    let root = target_dir().join("tools");
    let bin = root.join("bin/oha");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(OHA_VERSION));
    if !installed {
        eprintln!("installing oha {OHA_VERSION} into {}", root.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "install",
                "oha",
                "--locked",
                "--version",
                OHA_VERSION,
                "--root",
            ])
            .arg(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo install oha failed");
    }
    bin
}

/// One route's figures, read from oha's JSON report.
struct Load {
    route: &'static str,
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    statuses: String,
    all_ok: bool,
}

/// Runs oha against one route at `rate` requests/s for `seconds`; a POST sends the lines of
/// `bodies` in turn (one resident each).
fn load(
    oha: &Path,
    base: &str,
    route: &'static str,
    bodies: Option<&Path>,
    rate: u32,
    seconds: u32,
) -> Load {
    let (method, path) = route.split_once(' ').expect("METHOD /path");
    let mut cmd = Command::new(oha);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
    ])
    .args(["-z", &format!("{seconds}s"), "-q", &rate.to_string()])
    .args(["-c", "50", "-m", method]);
    if let Some(bodies) = bodies {
        cmd.args(["-T", "application/json", "-Z"]).arg(bodies);
    }
    let out = cmd.arg(format!("{base}{path}")).output().expect("oha runs");
    assert!(
        out.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("oha's JSON report");
    let ms = |p: &str| report["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let codes = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let requests: u64 = codes.values().filter_map(Value::as_u64).sum();
    let expected = if bodies.is_some() { "202" } else { "200" };
    Load {
        route,
        requests,
        per_second: report["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN),
        p50_ms: ms("p50"),
        p99_ms: ms("p99"),
        max_ms: report["summary"]["slowest"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        all_ok: codes.keys().all(|c| c == expected) && requests > 0,
        statuses: codes
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The smoke run: a few requests of each kind, each answered as a resident's would be.
async fn smoke(base: &str) {
    let http = reqwest::Client::new();
    let started = telmail_tests::stopwatch();
    for i in 0..20 {
        let page = http
            .get(format!("{base}/inscription"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let signup = http
            .post(format!("{base}/api/subscriptions"))
            .header("content-type", "application/json")
            .body(signup_body(i))
            .send()
            .await
            .unwrap();
        assert_eq!(signup.status(), 202, "the raised limit lets every post in");
    }
    println!(
        "smoke run: 20 pages and 20 sign-ups answered in {:.0} ms (the load itself: cargo bench)",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut args = ServerArgs::with_data_dir(dir.path());
    // Every client is 127.0.0.1 here: its allowances (posts a minute, sign-ups an hour) are
    // raised for the run.
    args.rate_limit_per_minute = NonZeroU32::new(10_000_000).unwrap();
    args.signups_per_hour = Some(10_000_000);
    let server = rt
        .block_on(telmail_local::server::start(args))
        .expect("the server starts");
    let base = format!("http://{}", server.addr);
    if quick {
        rt.block_on(smoke(&base));
    } else {
        let (rate, seconds) = (
            env_number("TELMAIL_LOAD_RATE", 500),
            env_number("TELMAIL_LOAD_SECONDS", 10),
        );
        let oha = oha();
        println!(
            "Télmail public sign-up under load: oha {OHA_VERSION}, {rate} requests/s for {seconds} s per route, 50 connections, local server (embedded backend), {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("| route | requests | requests/s | p50 (ms) | p99 (ms) | slowest (ms) | answers | p99 ≤ {P99_TARGET_MS} ms |");
        println!("|---|---:|---:|---:|---:|---:|---|---|");
        // A resident per request (oha sends the file's lines in turn).
        let bodies = dir.path().join("signups.jsonl");
        let lines: Vec<String> = (0..rate * seconds * 2).map(signup_body).collect();
        std::fs::write(&bodies, lines.join("\n")).unwrap();
        for (route, post) in [
            ("GET /inscription", None),
            ("POST /api/subscriptions", Some(bodies.as_path())),
        ] {
            let l = load(&oha, &base, route, post, rate, seconds);
            println!(
                "| `{}` | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} |",
                l.route,
                l.requests,
                l.per_second,
                l.p50_ms,
                l.p99_ms,
                l.max_ms,
                l.statuses,
                if l.p99_ms <= P99_TARGET_MS && l.all_ok {
                    "PASS"
                } else {
                    "MISS"
                },
            );
        }
    }
    rt.block_on(server.stop()).expect("the server stops");
}

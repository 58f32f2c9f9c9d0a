//! Lambda binary sizes and cold start.
//!
//! Sizes: the arm64 `bootstrap` files built for Lambda (`sam build` into `.aws-sam/build/*/`, or
//! `cargo lambda build` into `target/lambda/*/`) when present, and the host release binaries,
//! each with its size zipped (deflate, as SAM uploads it). Target for the arm64 zips, each function
//! built alone as `sam build` and `scripts/lambda-sizes.sh` build it: ≤ 4 MB each. The host
//! binaries are built in one command (every optional SDK client in each), so no target applies.
//!
//! Cold start: each function's host release binary is started against a stub Lambda Runtime API
//! (a TCP listener on 127.0.0.1) and timed from spawn to its first
//! `GET /2018-06-01/runtime/invocation/next`: process start, settings, SDK clients, and the
//! signing key read from Secrets Manager (here a local moto; on AWS an in-region call). Target:
//! < 50 ms (the bare Rust floor on Lambda is about 14 ms).
//!
//! Run: `cargo bench -p telmail-tests --bench cold_start` (builds the 9 functions with
//! `cargo build --release` first; `TELMAIL_BENCH_RUNS` runs per function, default 10).
//! `cargo test -p telmail-tests --bench cold_start` is a smoke run: one function, one run, with
//! whatever build of it exists (else a debug build). Uses `TELMAIL_MOTO_URL` when set, else
//! starts `moto_server`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The functions (binary name = function name; package `telmail-fn-<name>`).
const FUNCTIONS: [&str; 9] = [
    "subscribe",
    "campaigns",
    "approve",
    "admin",
    "files",
    "fan-out",
    "send",
    "feedback",
    "weather",
];

/// The largest zip a function may be (#33), in bytes: 4 MB.
const TARGET_ZIP_BYTES: u64 = 4_000_000;
const TARGET_COLD_START_MS: f64 = 50.0;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds functions with cargo (`release` or the dev profile).
fn build(functions: &[&str], release: bool) {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(workspace_root()).arg("build");
    if release {
        cmd.arg("--release");
    }
    for f in functions {
        cmd.args(["-p", &format!("telmail-fn-{f}")]);
    }
    let started = telmail_tests::stopwatch();
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build of the functions failed");
    println!(
        "built {} ({}) in {:.0} s",
        functions.join(", "),
        if release { "release" } else { "debug" },
        started.elapsed().as_secs_f64()
    );
}

/// Sizes of files zipped with deflate, as `bootstrap` (python3's zipfile, as SAM does).
fn zipped_sizes(files: &[PathBuf]) -> Vec<Option<u64>> {
    let script = r#"
import io, sys, zipfile
for p in sys.argv[1:]:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(p, "bootstrap")
    print(len(b.getvalue()))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(files)
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().parse().ok())
            .collect(),
        _ => vec![None; files.len()],
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints a size table for (label, file) pairs, with the zip target's verdict when `target`.
fn size_table(title: &str, files: &[(String, PathBuf)], target: bool) {
    if files.is_empty() {
        return;
    }
    println!();
    println!("{title}");
    println!(
        "{:<28} {:>10} {:>10} {:>12} {:>6}",
        "function", "MiB", "zip MiB", "target zip", ""
    );
    let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    let zips = zipped_sizes(&paths);
    for ((label, path), zip) in files.iter().zip(zips) {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:<28} {:>10.2} {:>10} {:>12} {:>6}",
            label,
            mib(size),
            zip.map_or("?".into(), |z| format!("{:.2}", mib(z))),
            if target { "≤ 4 MB" } else { "" },
            match zip {
                Some(z) if target => support::verdict(z <= TARGET_ZIP_BYTES),
                Some(_) => "",
                None => "?",
            },
        );
    }
}

/// The arm64 artifacts built for Lambda, if any.
fn lambda_artifacts() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for (dir, what) in [
        (workspace_root().join(".aws-sam/build"), "sam build"),
        (target_dir().join("lambda"), "cargo lambda"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bootstrap"))
            .filter(|p| p.is_file())
            .map(|p| {
                let name = p
                    .parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (format!("{name} ({what})"), p)
            })
            .collect();
        here.sort();
        found.extend(here);
    }
    found
}

/// The environment Lambda gives a function, plus the service's settings.
fn lambda_env(
    function: &str,
    runtime_api: &str,
    moto: &str,
    secret: &str,
) -> Vec<(String, String)> {
    let pairs = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/telmail/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("_HANDLER", "bootstrap"),
        ("TZ", ":UTC"),
        ("AWS_REGION", support::REGION),
        ("AWS_DEFAULT_REGION", support::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_ENDPOINT_URL", moto),
        // As on Lambda: no profile files, no instance metadata.
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TELMAIL_PUBLIC_URL", "https://alertes.arcachon.example"),
        ("TELMAIL_TABLE", "telmail"),
        ("TELMAIL_FILES_BUCKET", "telmail-files"),
        (
            "TELMAIL_FANOUT_QUEUE_URL",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/telmail-fanout",
        ),
        (
            "TELMAIL_DELIVERY_QUEUE_URL",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/telmail-delivery",
        ),
        (
            "TELMAIL_URGENT_QUEUE_URL",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/telmail-urgent",
        ),
        (
            "TELMAIL_WEATHER_FEED_URL",
            "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours",
        ),
        ("TELMAIL_SIGNING_KEY_SECRET", secret),
        ("TELMAIL_USER_POOL_ID", "eu-west-3_telmail"),
        ("TELMAIL_COGNITO_CLIENT_ID", "telmailclient"),
        (
            "TELMAIL_DEAD_LETTER_QUEUE_URLS",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/telmail-fanout-dlq,https://sqs.eu-west-3.amazonaws.com/123456789012/telmail-delivery-dlq",
        ),
        ("TELMAIL_EMAIL_FROM", support::EMAIL_FROM),
        ("TELMAIL_SES_CONFIGURATION_SET", "telmail"),
    ];
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Starts the binary against a fresh stub Runtime API; returns the time from spawn to its first
/// `/runtime/invocation/next` request.
async fn cold_start(binary: &Path, function: &str, moto: &str, secret: &str) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("stub listener");
    let api = listener.local_addr().unwrap().to_string();
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let stub = tokio::spawn(async move {
        // Connections are kept open (never answered) until the function is killed.
        let mut held = Vec::new();
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            held.push(tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(2).any(|w| w == b"\r\n") {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let at = telmail_tests::stopwatch();
                if buf.starts_with(b"GET /2018-06-01/runtime/invocation/next ") {
                    let _ = tx.send(at);
                }
                let mut sink = [0u8; 1024];
                while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
            }));
        }
    });
    let spawned = telmail_tests::stopwatch();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(lambda_env(function, &api, moto, secret))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let first = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await;
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait for the function");
    stub.abort();
    match first {
        Ok(Some(at)) => at - spawned,
        _ => panic!(
            "{function} never asked for an invocation; its stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// A fresh Secrets Manager client's first `GetSecretValue` on moto (what the start-up does:
/// HTTP client set-up + request), and a second call on the same client (the request alone).
async fn secret_read(sdk: &aws_config::SdkConfig, secret: &str) -> (Duration, Duration) {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut times = [Duration::ZERO; 2];
    for t in &mut times {
        let started = telmail_tests::stopwatch();
        client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .expect("read the secret on moto");
        *t = started.elapsed();
    }
    (times[0], times[1])
}

fn main() {
    // `cargo test --bench cold_start` runs this without --bench: a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs: usize = match std::env::var("TELMAIL_BENCH_RUNS") {
        Ok(s) => s.trim().parse().expect("TELMAIL_BENCH_RUNS is a number"),
        Err(_) if quick => 1,
        Err(_) => 10,
    };
    let functions: Vec<&str> = if quick {
        vec!["send"]
    } else {
        FUNCTIONS.to_vec()
    };

    // Binaries: release builds for the real run; in a smoke run, whatever build exists.
    let release_dir = target_dir().join("release");
    let debug_dir = target_dir().join("debug");
    let (bin_dir, profile) = if !quick {
        if std::env::var_os("TELMAIL_BENCH_NO_BUILD").is_none() {
            build(&functions, true);
        }
        (release_dir, "release")
    } else if functions.iter().all(|f| release_dir.join(f).is_file()) {
        (release_dir, "release")
    } else {
        if !functions.iter().all(|f| debug_dir.join(f).is_file()) {
            build(&functions, false);
        }
        (debug_dir, "debug (smoke run)")
    };

    println!(
        "Télmail Lambda binaries: sizes and cold start, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    size_table(
        "arm64 Lambda artifacts (bootstrap):",
        &lambda_artifacts(),
        true,
    );
    size_table(
        &format!("host binaries ({profile}, {}):", std::env::consts::ARCH),
        &functions
            .iter()
            .map(|f| ((*f).to_owned(), bin_dir.join(f)))
            .collect::<Vec<_>>(),
        false,
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let moto = support::moto().await;
        let sdk = support::sdk_config(&moto.url).await;
        let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let secret = support::create_secret(&sdk, &format!("telmail-cold-{run}")).await;

        let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
        for _ in 0..runs.max(3) {
            let (first, second) = secret_read(&sdk, &secret).await;
            firsts.push(first);
            seconds.push(second);
        }
        let (first_median, _) = support::median_max_ms(&firsts);
        let (second_median, _) = support::median_max_ms(&seconds);

        println!();
        println!(
            "cold start: spawn → first /runtime/invocation/next ({profile} binaries, {runs} runs each, stub Runtime API; moto at {})",
            moto.url
        );
        println!(
            "{:<12} {:>11} {:>8} {:>10} {:>6}",
            "function", "median ms", "max ms", "target", ""
        );
        for f in &functions {
            let binary = bin_dir.join(f);
            // One unmeasured start so the file is in the page cache, as on a warm Lambda host.
            cold_start(&binary, f, &moto.url, &secret).await;
            let mut samples = Vec::new();
            for _ in 0..runs {
                samples.push(cold_start(&binary, f, &moto.url, &secret).await);
            }
            let (median, max) = support::median_max_ms(&samples);
            println!(
                "{:<12} {:>11.1} {:>8.1} {:>10} {:>6}",
                f,
                median,
                max,
                format!("< {TARGET_COLD_START_MS} ms"),
                support::verdict(median < TARGET_COLD_START_MS)
            );
        }
        println!(
            "(includes the signing key read from Secrets Manager, here a local moto over plain HTTP; from this process a fresh client's first GetSecretValue takes {first_median:.1} ms median (HTTP client set-up + request), a second one {second_median:.1} ms; on AWS it is an in-region HTTPS call)"
        );
    });
}

//! Big files at a million subscribers (#15 point 8), embedded store: a CSV import of N lines and
//! the export of the N subscribers, each run as the service runs it (steps on the fan-out
//! queue, the file in the file drop), timing every step (a step must stay well inside the
//! fan-out function's 120 s) and sampling the process's memory.
//!
//! `cargo bench -p telmail-tests --bench big_files` (1,000,000 lines; `TELMAIL_BENCH_SUBSCRIBERS`
//! changes it); `cargo test` runs it on 2,000 as a smoke test.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use telmail_core::clock::ManualClock;
use telmail_core::domain::file_job::{ExportOrder, FileJob, FileJobId, FileJobStatus, ImportMode};
use telmail_core::ports::{FileDrop, FileJobStore};
use telmail_local::outbox::Outbox;
use telmail_local::worker::Worker;
use telmail_tests::staff;
use telmail_tests::world::{outbox, World};

/// A spreadsheet of `n` residents: email, a mobile for one in four, two topics.
fn spreadsheet(n: usize) -> Vec<u8> {
    let mut csv = String::with_capacity(n * 110);
    csv.push_str("email;telephone;themes;canaux;reference\r\n");
    for i in 0..n {
        let phone = if i % 4 == 0 {
            format!("06{:08}", i)
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "habitant{i}@arcachon.example;{phone};Alerte météo | Informations pratiques;;PAP-2026-{i:07}\r\n"
        ));
    }
    csv.into_bytes()
}

/// What running a job's steps one by one took.
struct Run {
    job: FileJob,
    time: Duration,
    steps: usize,
    longest: Duration,
    rss: Vec<f64>,
}

/// Runs the job's steps, one fan-out receive each, until it ends.
async fn run(w: &World<Outbox>, id: FileJobId) -> Run {
    let worker = Worker::new(
        w.services.queue.clone(),
        w.services.use_cases.jobs.clone(),
        Default::default(),
    );
    let started = telmail_tests::stopwatch();
    let (mut steps, mut longest, mut rss) = (0, Duration::ZERO, Vec::new());
    loop {
        let step = telmail_tests::stopwatch();
        let handled = worker.fanout_once().await.expect("the step runs");
        longest = longest.max(step.elapsed());
        steps += handled;
        rss.push(telmail_tests::rss_mib("VmRSS:"));
        let job = w.services.store.file_job(id).await.unwrap().unwrap();
        if !job.status.is_running() || handled == 0 {
            return Run {
                job,
                time: started.elapsed(),
                steps,
                longest,
                rss,
            };
        }
    }
}

fn memory(rss: &[f64]) -> String {
    let tenth = rss.len().div_ceil(10).max(1);
    rss.iter()
        .step_by(tenth)
        .map(|m| format!("{m:.0}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn bench(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
    ));
    let w = World::on_clock(clock.clone(), outbox(dir.path(), None, clock), |_| {}).await;
    let uc = &w.services.use_cases;
    let redac = staff("redac", "redaction");

    let csv = spreadsheet(n);
    let bytes = csv.len();
    let started = uc
        .file_jobs
        .start_import(&redac, ImportMode::AllOrNothing, false, false)
        .await
        .unwrap();
    w.services
        .files
        .put(&started.job.id.file_key(), csv)
        .await
        .unwrap();
    uc.file_jobs
        .file_sent(&redac, started.job.id)
        .await
        .unwrap();
    let import = run(&w, started.job.id).await;
    assert_eq!(
        import.job.status,
        FileJobStatus::Done,
        "{:?}",
        import.job.failure
    );
    assert_eq!(import.job.imported, n, "{:?}", import.job.errors.first());
    println!("| job | rows | file (MB) | time (s) | rows/s | steps | longest step (s) | RSS by tenths of the job (MiB) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| import, all or nothing (checked, then written) | {n} | {:.1} | {:.1} | {:.0} | {} | {:.2} | {} |",
        bytes as f64 / 1e6,
        import.time.as_secs_f64(),
        n as f64 / import.time.as_secs_f64(),
        import.steps,
        import.longest.as_secs_f64(),
        memory(&import.rss)
    );

    let job = uc
        .file_jobs
        .start_export(&redac, ExportOrder::Date)
        .await
        .unwrap();
    let export = run(&w, job.id).await;
    assert_eq!(export.job.status, FileJobStatus::Done);
    assert_eq!(export.job.rows, n);
    let file = w
        .services
        .files
        .read(&job.id.file_key(), 0, u64::MAX)
        .await
        .unwrap();
    let rows = file
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
        - 1;
    assert_eq!(rows, n, "every subscriber exported once");
    println!(
        "| export ({} parts) | {n} | {:.1} | {:.1} | {:.0} | {} | {:.2} | {} |",
        export.job.export.as_ref().map_or(0, |e| e.parts.len()),
        file.len() as f64 / 1e6,
        export.time.as_secs_f64(),
        n as f64 / export.time.as_secs_f64(),
        export.steps,
        export.longest.as_secs_f64(),
        memory(&export.rss)
    );
    println!();
    println!(
        "Peak RSS of the process: {:.0} MiB.",
        telmail_tests::rss_mib("VmHWM:")
    );
}

fn main() {
    let (n, _quick) = telmail_tests::bench_size(2_000, 1_000_000);
    println!(
        "Télmail big files, embedded store, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench(n));
}

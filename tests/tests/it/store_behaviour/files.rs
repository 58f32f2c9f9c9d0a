//! Big-file jobs and the files they read and write.

use super::*;

use chrono::{DateTime, Duration, Utc};
use telmail_core::domain::file_job::{FileJob, FileJobId, FileJobKind, FileJobStatus};
use telmail_core::error::StoreError;

fn file_job(at: DateTime<Utc>) -> FileJob {
    FileJob::new(
        FileJobKind::Export {
            order: telmail_core::domain::file_job::ExportOrder::Contact,
        },
        &identity("redac"),
        FileJobStatus::Exporting,
        at,
    )
}

async fn file_jobs_are_saved_from_the_step_read_and_listed_newest_first(b: Backend) {
    let older = file_job(t0());
    let mut newer = file_job(t0() + Duration::minutes(5));
    b.file_jobs.insert_file_job(&older).await.unwrap();
    b.file_jobs.insert_file_job(&newer).await.unwrap();
    assert_eq!(
        b.file_jobs.file_job(newer.id).await.unwrap().as_ref(),
        Some(&newer)
    );
    assert_eq!(b.file_jobs.file_job(FileJobId::new()).await.unwrap(), None);

    newer.step = 1;
    newer.rows = 1000;
    b.file_jobs.save_file_job(&newer, 0).await.unwrap();
    // A second run of step 0 finds the job moved on.
    let mut late = newer.clone();
    late.rows = 7;
    assert!(matches!(
        b.file_jobs.save_file_job(&late, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.file_jobs.file_job(newer.id).await.unwrap().unwrap().rows,
        1000
    );

    let recent = b.file_jobs.recent_file_jobs(10).await.unwrap();
    assert_eq!(
        recent.iter().map(|j| j.id).collect::<Vec<_>>(),
        [newer.id, older.id]
    );
    assert_eq!(b.file_jobs.recent_file_jobs(1).await.unwrap().len(), 1);
}

async fn big_files_are_written_in_parts_read_by_range_and_removed(b: Backend) {
    let key = format!("jobs/{}/fichier.csv", FileJobId::new());
    assert_eq!(b.files.size(&key).await.unwrap(), None);
    let upload = b.files.start_parts(&key).await.unwrap();
    // S3 wants 5 MiB in every part but the last.
    let first = vec![b'a'; 5 << 20];
    let one = b.files.put_part(&key, &upload, 1, first).await.unwrap();
    let two = b
        .files
        .put_part(&key, &upload, 2, b"fin".to_vec())
        .await
        .unwrap();
    b.files
        .finish_parts(&key, &upload, &[one, two])
        .await
        .unwrap();
    let size = (5 << 20) + 3;
    assert_eq!(b.files.size(&key).await.unwrap(), Some(size));
    assert_eq!(
        b.files.read(&key, size - 5, 1 << 20).await.unwrap(),
        b"aafin"
    );
    assert!(b.files.read(&key, size, 10).await.unwrap().is_empty());
    // Closing the upload link (twice is harmless) leaves the file as it was.
    b.files.close_upload(&key).await.unwrap();
    b.files.close_upload(&key).await.unwrap();
    assert_eq!(b.files.size(&key).await.unwrap(), Some(size));

    let small = format!("jobs/{}/vus.bin", FileJobId::new());
    b.files.put(&small, b"12345".to_vec()).await.unwrap();
    assert_eq!(b.files.read(&small, 0, u64::MAX).await.unwrap(), b"12345");
    b.files.remove(&small).await.unwrap();
    b.files.remove(&small).await.unwrap();
    assert_eq!(b.files.size(&small).await.unwrap(), None);
}

on_both_backends!(
    file_jobs_are_saved_from_the_step_read_and_listed_newest_first,
    big_files_are_written_in_parts_read_by_range_and_removed,
);

//! A staff account locked by wrong passwords (#26, point 2): how long, and how it ends, on the
//! service's clock.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use telmail_core::error::DomainError;
use telmail_local::outbox::Outbox;
use telmail_tests::process::STAFF_PASSWORD;
use telmail_tests::world::World;

async fn login(w: &World<Outbox>, password: &str) -> Result<(), DomainError> {
    w.services
        .staff_auth
        .login("cab", password)
        .await
        .map(|_| ())
}

fn is_locked(r: Result<(), DomainError>, minutes: i64) -> bool {
    matches!(r, Err(DomainError::TooManyAttempts(m))
        if m.contains("verrouillé") && m.contains(&format!("réessayez dans {minutes} min")))
}

fn is_wrong(r: Result<(), DomainError>) -> bool {
    matches!(r, Err(DomainError::Unauthorized(m)) if m == "Identifiant ou mot de passe incorrect.")
}

#[tokio::test]
async fn a_lock_lasts_a_minute_then_doubles_at_each_wrong_password_and_ends_with_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(telmail_core::clock::ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
    ));
    let w = World::on_clock(
        clock.clone(),
        telmail_tests::world::outbox(dir.path(), None, clock.clone()),
        |_| {},
    )
    .await;
    w.services
        .staff_auth
        .add_account(telmail_tests::staff("cab", "cabinet"), STAFF_PASSWORD)
        .await
        .unwrap();

    for _ in 0..5 {
        assert!(is_wrong(login(&w, "devine").await));
    }
    assert!(is_locked(login(&w, STAFF_PASSWORD).await, 1));
    clock.advance(Duration::seconds(61));
    // The lock is over; a sixth wrong password locks for two minutes, a seventh for four
    assert!(is_wrong(login(&w, "devine").await));
    assert!(is_locked(login(&w, STAFF_PASSWORD).await, 2));
    clock.advance(Duration::seconds(121));
    assert!(is_wrong(login(&w, "devine").await));
    assert!(is_locked(login(&w, STAFF_PASSWORD).await, 4));
    clock.advance(Duration::minutes(4));
    // The right password opens a session and counts wrong ones afresh
    login(&w, STAFF_PASSWORD).await.unwrap();
    for _ in 0..4 {
        assert!(is_wrong(login(&w, "devine").await));
    }
    login(&w, STAFF_PASSWORD).await.unwrap();
}

//! Staff accounts, sessions (the SQLite store only) and notice settings.

use super::*;

use chrono::Duration;
use telmail_core::domain::notices::{NoticeSettings, StaffNotice};
use telmail_core::domain::staff::{StaffAccount, StaffSession};
use telmail_core::error::StoreError;

async fn staff_accounts_are_unique_and_sessions_expire_by_caller(b: Backend) {
    let staff = b.staff.expect("this backend keeps staff accounts");
    let account = StaffAccount {
        identity: identity("cabinet"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: t0(),
        disabled: false,
        // A lock after wrong passwords is kept with the account
        locked_until: Some(t0() + Duration::minutes(4)),
        login_generation: 3,
    };
    staff.create_account(&account).await.unwrap();
    let again = StaffAccount {
        password_hash: "autre".into(),
        ..account.clone()
    };
    assert!(matches!(
        staff.create_account(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        staff.find_account("cabinet").await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(staff.find_account("inconnu").await.unwrap(), None);

    let live = StaffSession {
        identity: identity("cabinet"),
        csrf_token: "csrf-1".into(),
        expires_at: t0() + Duration::hours(8),
    };
    let expired = StaffSession {
        csrf_token: "csrf-2".into(),
        expires_at: t0(),
        ..live.clone()
    };
    staff.create_session("digest-1", &live).await.unwrap();
    staff.create_session("digest-2", &expired).await.unwrap();
    assert_eq!(
        staff.find_session("digest-1").await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        staff.find_session("digest-2").await.unwrap(),
        Some(expired),
        "the caller judges expiry"
    );
    staff.delete_session("digest-2").await.unwrap();
    staff.delete_session("digest-2").await.unwrap();
    assert_eq!(staff.find_session("digest-2").await.unwrap(), None);
    assert_eq!(
        staff.find_session("digest-1").await.unwrap(),
        Some(live.clone())
    );

    // Accounts are replaced and listed; a username's sessions end together
    let disabled = StaffAccount {
        disabled: true,
        ..account.clone()
    };
    assert!(staff.update_account(&disabled).await.unwrap());
    let nobody = StaffAccount {
        identity: identity("personne"),
        ..account.clone()
    };
    assert!(!staff.update_account(&nobody).await.unwrap());
    let other = StaffAccount {
        identity: identity("redac"),
        ..account.clone()
    };
    staff.create_account(&other).await.unwrap();
    assert_eq!(staff.list_accounts().await.unwrap(), [disabled, other]);
    let theirs = StaffSession {
        identity: identity("redac"),
        ..live.clone()
    };
    staff.create_session("digest-3", &live).await.unwrap();
    staff.create_session("digest-4", &theirs).await.unwrap();
    assert_eq!(staff.delete_sessions_of("cabinet").await.unwrap(), 2);
    assert_eq!(staff.find_session("digest-1").await.unwrap(), None);
    assert_eq!(staff.find_session("digest-4").await.unwrap(), Some(theirs));
}

async fn notice_settings_default_to_all_on_and_are_kept_per_account(b: Backend) {
    // GIVEN an account that never saved its settings: every notice is on
    assert_eq!(
        b.notices.notice_settings("maire").await.unwrap(),
        NoticeSettings::default()
    );
    // WHEN it turns two off, and another account one
    let some = NoticeSettings {
        off: [StaffNotice::SubmittedUrgentSms, StaffNotice::WeatherSms].into(),
    };
    b.notices
        .save_notice_settings("maire", &some)
        .await
        .unwrap();
    let other = NoticeSettings {
        off: [StaffNotice::DecisionEmail].into(),
    };
    b.notices
        .save_notice_settings("1f2e-cognito-sub", &other)
        .await
        .unwrap();
    // THEN each reads its own
    assert_eq!(b.notices.notice_settings("maire").await.unwrap(), some);
    assert_eq!(
        b.notices.notice_settings("1f2e-cognito-sub").await.unwrap(),
        other
    );
    // WHEN the first turns every notice on again: saved as such, not left as it was
    b.notices
        .save_notice_settings("maire", &NoticeSettings::default())
        .await
        .unwrap();
    assert_eq!(
        b.notices.notice_settings("maire").await.unwrap(),
        NoticeSettings::default()
    );
}

on_backend!(sqlite:
    staff_accounts_are_unique_and_sessions_expire_by_caller,
    notice_settings_default_to_all_on_and_are_kept_per_account,
);
// Staff accounts are Cognito's on AWS: the DynamoDB store has no staff port.
on_backend!(dynamo: notice_settings_default_to_all_on_and_are_kept_per_account);

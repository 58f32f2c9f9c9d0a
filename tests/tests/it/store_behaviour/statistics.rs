//! Monthly counters, sign-ups by origin and the audience kept month by month.

use super::*;

use std::str::FromStr;

use telmail_core::clock::Month;
use telmail_core::domain::contact::Channel;
use telmail_core::ports::{AudienceCount, Counter};

/// A month, as written in the statistics.
fn m(month: &str) -> Month {
    month.parse().unwrap()
}

async fn counters_add_up_per_month(b: Backend) {
    b.stats
        .add(m("2026-11"), Counter::SignUps, 2)
        .await
        .unwrap();
    b.stats
        .add(m("2026-11"), Counter::SignUps, 3)
        .await
        .unwrap();
    b.stats
        .add(m("2026-11"), Counter::Departures, 1)
        .await
        .unwrap();
    assert_eq!(
        b.stats.get(m("2026-11"), Counter::SignUps).await.unwrap(),
        5
    );
    assert_eq!(
        b.stats
            .get(m("2026-11"), Counter::Departures)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.stats.get(m("2026-12"), Counter::SignUps).await.unwrap(),
        0
    );
}

async fn stats_add_many_at_once_and_read_months(b: Backend) {
    b.stats
        .add_many(
            m("2026-10"),
            &[(Counter::SmsSent, 10), (Counter::SmsSegments, 12)],
        )
        .await
        .unwrap();
    b.stats
        .add_many(
            m("2026-11"),
            &[
                (Counter::SmsSent, 3),
                (Counter::CostTenThousandths, 3_000),
                (Counter::SmsSent, 2),
            ],
        )
        .await
        .unwrap();
    b.stats
        .add(m("2026-12"), Counter::SignUps, 7)
        .await
        .unwrap();
    b.stats
        .add(m("2027-01"), Counter::SignUps, 1)
        .await
        .unwrap();
    b.stats.add_many(m("2026-11"), &[]).await.unwrap();
    assert_eq!(
        b.stats.get(m("2026-11"), Counter::SmsSent).await.unwrap(),
        5
    );

    let mut months = b.stats.months(m("2026-11"), m("2026-12")).await.unwrap();
    months.sort();
    assert_eq!(
        months,
        [
            (m("2026-11"), Counter::SmsSent, 5),
            (m("2026-11"), Counter::CostTenThousandths, 3_000),
            (m("2026-12"), Counter::SignUps, 7),
        ]
    );
    assert_eq!(
        b.stats
            .months(m("2026-10"), m("2026-10"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(b
        .stats
        .months(m("2025-01"), m("2025-12"))
        .await
        .unwrap()
        .is_empty());
}

async fn sign_ups_are_counted_with_their_origin(b: Backend) {
    let (nov, dec) = (
        Month::from_str("2026-11").unwrap(),
        Month::from_str("2026-12").unwrap(),
    );
    b.stats.add_signups(nov, "web", 2).await.unwrap();
    b.stats
        .add_signups(nov, "lieu:Maison de quartier du Moulleau", 1)
        .await
        .unwrap();
    b.stats.add_signups(dec, "web", 3).await.unwrap();
    b.stats.add(dec, Counter::Departures, 1).await.unwrap();
    assert_eq!(b.stats.get(nov, Counter::SignUps).await.unwrap(), 3);
    assert_eq!(b.stats.get(dec, Counter::SignUps).await.unwrap(), 3);
    assert_eq!(
        b.stats.signups_by_origin(nov, dec).await.unwrap(),
        [
            ("lieu:Maison de quartier du Moulleau".to_owned(), 1),
            ("web".to_owned(), 5)
        ]
    );
    assert_eq!(
        b.stats.signups_by_origin(dec, dec).await.unwrap(),
        [("web".to_owned(), 3)]
    );
    // The origins are not counters of their own in the months' figures.
    let months = b.stats.months(nov, dec).await.unwrap();
    assert_eq!(months.len(), 3, "{months:?}");
}

async fn the_audience_is_kept_month_by_month(b: Backend) {
    let count = |topic: &str, channel, subscribers| AudienceCount {
        topic: slug(topic),
        channel,
        subscribers,
    };
    let october = vec![count("alerte-meteo", Channel::Sms, 10)];
    b.stats.save_audience(m("2026-10"), &october).await.unwrap();
    b.stats
        .save_audience(m("2026-11"), &[count("alerte-meteo", Channel::Sms, 11)])
        .await
        .unwrap();
    // Saving a month again replaces it.
    let november = vec![
        count("alerte-meteo", Channel::Sms, 12),
        count("infos-pratiques", Channel::Email, 40),
    ];
    b.stats
        .save_audience(m("2026-11"), &november)
        .await
        .unwrap();
    b.stats
        .save_audience(m("2027-01"), &[count("alerte-meteo", Channel::Sms, 9)])
        .await
        .unwrap();
    assert_eq!(
        b.stats.audience(m("2026-10"), m("2026-12")).await.unwrap(),
        [(m("2026-10"), october), (m("2026-11"), november)]
    );
    // Kept apart from the monthly counters.
    assert!(b
        .stats
        .months(m("2026-10"), m("2027-01"))
        .await
        .unwrap()
        .is_empty());
}

on_both_backends!(
    counters_add_up_per_month,
    stats_add_many_at_once_and_read_months,
    sign_ups_are_counted_with_their_origin,
    the_audience_is_kept_month_by_month,
);

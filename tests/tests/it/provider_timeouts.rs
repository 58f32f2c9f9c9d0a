//! SNS and SES through the real AWS SDK, against an endpoint that takes the request and never
//! answers (issue: trust, point 12): the SMS is sent once and reported `unknown`, not retried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use telmail_aws::sns::SnsSmsSender;
use telmail_aws::Clients;
use telmail_core::domain::contact::PhoneNumber;
use telmail_core::error::SendError;
use telmail_core::ports::{OutgoingSms, SmsSender};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// An HTTP endpoint that reads each request and answers nothing; counts the requests.
async fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                if socket.read(&mut buf).await.unwrap_or(0) > 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                // Keep the connection open, answer nothing.
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            });
        }
    });
    (url, requests)
}

#[tokio::test]
async fn an_sms_publish_without_answer_is_unknown_and_sent_once() {
    let (url, requests) = black_hole().await;
    let sdk = telmail_tests::moto::sdk_config(&url).await;
    let sms = SnsSmsSender::new(Clients::new(&sdk).sns, "ARCACHON", "Transactional").unwrap();
    let started = telmail_tests::stopwatch();
    let outcome = sms
        .send_sms(&OutgoingSms {
            to: "0612345678".parse::<PhoneNumber>().unwrap(),
            text: "Alerte vent violent".into(),
        })
        .await;
    assert!(matches!(outcome, Err(SendError::Unknown(_))), "{outcome:?}");
    assert!(started.elapsed() < telmail_aws::backend::PROVIDER_CALL_TIMEOUT * 2);
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "the SDK did not try again"
    );
}

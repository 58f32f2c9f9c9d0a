//! Télmail on AWS: DynamoDB store, SQS queue, SES v2 and SNS senders, and the glue the Lambda
//! functions share (API Gateway context, SQS consumers, provider feedback).

pub mod backend;
pub mod backoff;
#[cfg(feature = "directory")]
pub mod cognito;
pub mod consumer;
pub mod dynamo;
pub mod env;
pub mod error;
pub mod errors;
pub mod events;
pub mod feedback;
pub mod file_drop;
pub mod gateway;
pub mod handlers;
pub mod limits;
#[cfg(feature = "files")]
pub mod s3;
pub mod send_concurrency;
pub mod ses;
pub mod sns;
pub mod sqs;
pub mod staff_directory;
pub mod voice;
pub mod weather_key;

pub use backend::{https_client, init_logging, Aws, AwsSettings, Calls, Clients};
pub use error::{EventError, StartupError};
pub use weather_key::weather_feed;

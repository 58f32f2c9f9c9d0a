//! Keeps `template.yaml` true to what running on AWS at real scale needs (#27): the town's
//! messages and alerts keep their share of Lambda concurrency, what stops running is an alarm,
//! alarms follow the work, and the functions' rights and the logs hold no more than they must.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;

fn repo_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template() -> Value {
    serde_norway::from_str(&repo_file("template.yaml")).unwrap()
}

/// The name a `!Ref` points at.
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        _ => None,
    }
}

/// The resources of a type, by logical id.
fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap(), r))
        .collect()
}

/// A function's logical id from its binary.
fn function<'a>(template: &'a Value, binary: &str) -> (&'a str, &'a Value) {
    resources_of(template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function with Binary {binary}"))
}

/// The binary of every function whose policies, written out, contain `needle`.
fn functions_granted(template: &Value, needle: &str) -> BTreeSet<String> {
    let policies = |id: &str| {
        format!(
            "{:?}",
            template["Resources"][id]["Properties"]["PolicyDocument"]
        )
    };
    resources_of(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, r)| {
            let own = r["Properties"]["Policies"].as_sequence().expect("Policies");
            own.iter().any(|p| match reference(p) {
                // A managed policy of the template: its document.
                Some(id) => policies(id).contains(needle),
                None => format!("{p:?}").contains(needle),
            })
        })
        .map(|(_, r)| {
            r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A Number parameter's default.
fn default_of(template: &Value, parameter: &str) -> u64 {
    let p = &template["Parameters"][parameter];
    assert_eq!(p["Type"].as_str(), Some("Number"), "{parameter}");
    p["Default"]
        .as_u64()
        .unwrap_or_else(|| panic!("{parameter} has no default"))
}

/// The alarms whose text (metrics, dimensions, expressions) contains every one of `needles`.
fn alarms_with<'a>(template: &'a Value, needles: &[&str]) -> Vec<(&'a str, &'a Value)> {
    resources_of(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| {
            let text = format!("{:?}", a["Properties"]);
            needles.iter().all(|n| text.contains(n))
        })
        .collect()
}

#[test]
fn send_and_weather_keep_their_concurrency_and_subscribe_is_capped() {
    let template = template();
    let readme = repo_file("README.md");
    let deploying = &readme[readme.find("## Deploying on AWS").expect("the section")..];
    let mut reserved = 0;
    for (binary, parameter) in [
        ("send", "SendReservedConcurrency"),
        ("weather", "WeatherReservedConcurrency"),
        ("subscribe", "SubscribeMaxConcurrency"),
    ] {
        let (_, f) = function(&template, binary);
        assert_eq!(
            reference(&f["Properties"]["ReservedConcurrentExecutions"]),
            Some(parameter),
            "{binary} has no reserved concurrency set by {parameter}"
        );
        reserved += default_of(&template, parameter);
        assert!(deploying.contains(parameter), "README: {parameter}");
    }
    // `send` reads two queues, each up to SendConcurrency at once: less would throttle it.
    assert!(
        default_of(&template, "SendReservedConcurrency")
            >= 2 * default_of(&template, "SendConcurrency")
    );
    let min = |p: &str| template["Parameters"][p]["MinValue"].as_u64().unwrap();
    assert!(min("SendReservedConcurrency") >= 2 * min("SendConcurrency"));
    // The README says what the account's quota must be: the reservations plus Lambda's 100.
    assert!(deploying.contains("Concurrent executions"), "README: quota");
    assert!(
        deploying.contains(&(reserved + 100).to_string()),
        "README: the quota needed with the defaults, {}",
        reserved + 100
    );
}

#[test]
fn a_send_concurrency_the_rates_cannot_feed_is_an_alarm() {
    use telmail_aws::send_concurrency::{SEND_BATCH, SEND_LANES, SEND_TIMEOUT};
    let template = template();
    let (send, f) = function(&template, "send");
    // The start-up check reckons with the function as deployed.
    assert_eq!(
        f["Properties"]["Timeout"].as_u64(),
        Some(SEND_TIMEOUT.as_secs())
    );
    let events = f["Properties"]["Events"]
        .as_mapping()
        .expect("send's events");
    assert_eq!(events.len() as u32, SEND_LANES, "send reads two queues");
    for (name, e) in events {
        assert_eq!(
            e["Properties"]["BatchSize"].as_u64(),
            Some(u64::from(SEND_BATCH)),
            "{name:?}"
        );
    }
    assert_eq!(
        reference(&f["Properties"]["Environment"]["Variables"]["TELMAIL_SEND_CONCURRENCY"]),
        Some("SendConcurrency")
    );
    // What it logs becomes an alarm.
    let filters = resources_of(&template, "AWS::Logs::MetricFilter");
    let (_, filter) = filters
        .iter()
        .find(|(_, r)| {
            r["Properties"]["FilterPattern"].as_str() == Some("\"send_concurrency_over_rate\"")
        })
        .expect("a metric filter on send_concurrency_over_rate");
    let logs = reference(&f["Properties"]["LoggingConfig"]["LogGroup"]).expect("send's logs");
    assert_eq!(
        reference(&filter["Properties"]["LogGroupName"]),
        Some(logs),
        "{send}"
    );
    let metric = filter["Properties"]["MetricTransformations"][0]["MetricName"]
        .as_str()
        .unwrap();
    assert_eq!(
        alarms_with(&template, &[metric]).len(),
        1,
        "an alarm on {metric}"
    );
}

#[test]
fn a_weather_poll_or_a_schedule_that_stops_running_is_an_alarm() {
    let template = template();
    let (weather, _) = function(&template, "weather");
    let (fan_out, f) = function(&template, "fan-out");
    assert_eq!(
        f["Properties"]["Events"]["EveryMinute"]["Type"].as_str(),
        Some("Schedule")
    );
    // SAM names a Schedule event's rule <function><event>.
    let rule = format!("{fan_out}EveryMinute");
    for (namespace, dimension) in [("AWS/Lambda", weather), ("AWS/Events", rule.as_str())] {
        let found = alarms_with(&template, &[namespace, "Invocations", dimension]);
        assert_eq!(found.len(), 1, "one heartbeat on {dimension}");
        let p = &found[0].1["Properties"];
        assert_eq!(
            p["TreatMissingData"].as_str(),
            Some("breaching"),
            "{dimension}"
        );
        assert_eq!(p["ComparisonOperator"].as_str(), Some("LessThanThreshold"));
        assert_eq!(p["Threshold"].as_u64(), Some(1));
        assert!(p["Period"].as_u64().unwrap() * p["EvaluationPeriods"].as_u64().unwrap() <= 900);
    }
}

#[test]
fn the_fan_out_queue_the_table_and_the_sms_success_rate_have_alarms() {
    let template = template();
    assert_eq!(
        alarms_with(
            &template,
            &[
                "ApproximateAgeOfOldestMessage",
                "(\"FanoutQueue.QueueName\")"
            ]
        )
        .len(),
        1,
        "the fan-out queue's age"
    );
    for throttles in ["ReadThrottleEvents", "WriteThrottleEvents"] {
        assert!(
            !alarms_with(&template, &["AWS/DynamoDB", throttles, "(\"Table\")"]).is_empty(),
            "DynamoDB {throttles}"
        );
    }
    // SNS's receipts, delivered and not, counted and compared.
    let mut counted = Vec::new();
    for group in ["SmsDeliveryLogs", "SmsDeliveryFailureLogs"] {
        let (_, filter) = resources_of(&template, "AWS::Logs::MetricFilter")
            .into_iter()
            .find(|(_, f)| reference(&f["Properties"]["LogGroupName"]) == Some(group))
            .unwrap_or_else(|| panic!("no metric filter on {group}"));
        counted.push(
            filter["Properties"]["MetricTransformations"][0]["MetricName"]
                .as_str()
                .unwrap(),
        );
    }
    let success = alarms_with(&template, &counted);
    assert_eq!(success.len(), 1, "the SMS success rate");
    let p = &success[0].1["Properties"];
    assert_eq!(p["ComparisonOperator"].as_str(), Some("LessThanThreshold"));
    assert!(p["Threshold"].as_f64().unwrap() < 1.0);
}

#[test]
fn the_delivery_age_alarm_follows_the_draining_not_a_fixed_hour() {
    let template = template();
    let found = alarms_with(
        &template,
        &[
            "ApproximateAgeOfOldestMessage",
            "(\"DeliveryQueue.QueueName\")",
        ],
    );
    assert_eq!(found.len(), 1);
    let p = &found[0].1["Properties"];
    // A fixed threshold on the age alone fires on every campaign longer than it.
    assert!(p["MetricName"].is_null(), "the age alone: {p:?}");
    let metrics = p["Metrics"].as_sequence().expect("metric math");
    let id_of = |name: &str| {
        metrics
            .iter()
            .find(|m| m["MetricStat"]["Metric"]["MetricName"].as_str() == Some(name))
            .and_then(|m| m["Id"].as_str())
            .unwrap_or_else(|| panic!("{name} of the delivery queue"))
    };
    let (age, deleted) = (
        id_of("ApproximateAgeOfOldestMessage"),
        id_of("NumberOfMessagesDeleted"),
    );
    let returned: Vec<&Value> = metrics
        .iter()
        .filter(|m| m["ReturnData"].as_bool() == Some(true))
        .collect();
    assert_eq!(returned.len(), 1);
    let expression = returned[0]["Expression"].as_str().expect("an expression");
    assert!(
        expression.contains(age) && expression.contains(deleted),
        "{expression}"
    );
    // Why, where the next reader looks.
    assert!(repo_file("docs/design-notes.md").contains("NumberOfMessagesDeleted"));
}

#[test]
fn every_alarm_reaches_the_alarm_topic() {
    let template = template();
    for (id, alarm) in resources_of(&template, "AWS::CloudWatch::Alarm") {
        let actions = alarm["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has no action"));
        assert!(
            actions.iter().any(|a| reference(a) == Some("AlarmTopic")),
            "{id}"
        );
    }
}

#[test]
fn no_function_may_publish_to_a_topic() {
    let template = template();
    for (id, f) in resources_of(&template, "AWS::Serverless::Function") {
        let statements: Vec<&Value> = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
            .collect();
        let publishes = |effect: &str| {
            statements.iter().any(|s| {
                s["Effect"].as_str() == Some(effect) && s["Action"].as_str() == Some("sns:Publish")
            })
        };
        if publishes("Allow") {
            // Phone numbers have no ARN: allowed on "*", every topic denied.
            let denied = statements.iter().any(|s| {
                s["Effect"].as_str() == Some("Deny")
                    && s["Action"].as_str() == Some("sns:Publish")
                    && format!("{:?}", s["Resource"]).contains(":sns:*:*:*")
            });
            assert!(denied, "{id} may publish to any SNS topic");
        }
    }
}

#[test]
fn only_the_subscriber_files_writers_may_batch_write() {
    let template = template();
    let batching = functions_granted(&template, "dynamodb:BatchWriteItem");
    assert_eq!(
        batching,
        BTreeSet::from(["admin", "fan-out", "subscribe"].map(String::from)),
        "BatchWriteItem deletes: only the functions whose store calls batch it"
    );
    // BatchWriteItem deletes without DeleteItem: whoever holds it may delete anyway.
    let deleting = functions_granted(&template, "dynamodb:DeleteItem");
    assert!(batching.is_subset(&deleting), "{batching:?} ⊄ {deleting:?}");
    // The store's batched writes: a person erased (finished deliveries, answers and reach
    // reports) and a membership's topic noted, all on the subscriber file's paths. A new
    // caller must be granted here.
    let dynamo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/aws/src/dynamo");
    let mut callers = BTreeSet::new();
    for entry in std::fs::read_dir(dynamo).unwrap() {
        let path = entry.unwrap().path();
        let code = std::fs::read_to_string(&path).unwrap();
        if code.contains("batch_write(&") {
            callers.insert(path.file_name().unwrap().to_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        callers,
        BTreeSet::from(["deliveries.rs", "fanout.rs", "reach.rs"].map(String::from))
    );
}

#[test]
fn the_files_function_may_list_the_jobs_prefix_only() {
    let template = template();
    assert_eq!(
        functions_granted(&template, "s3:ListBucket"),
        BTreeSet::from(["files".to_owned()])
    );
    let (_, files) = function(&template, "files");
    let listing = files["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .find(|s| s["Action"].as_str() == Some("s3:ListBucket"))
        .expect("s3:ListBucket alone in its statement");
    assert_eq!(listing["Effect"].as_str(), Some("Allow"));
    assert!(format!("{:?}", listing["Resource"]).contains("FilesBucket.Arn"));
    assert_eq!(
        listing["Condition"]["StringLike"]["s3:prefix"].as_str(),
        Some("jobs/*")
    );
}

#[test]
fn the_api_access_log_names_the_route_never_the_path() {
    let template = template();
    let format = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .expect("the access log format");
    assert!(format.contains("$context.routeKey"), "{format}");
    // `DELETE /api/admin/suppressions/{address}`: the path holds the address.
    assert!(!format.contains("$context.path"), "{format}");
}

#[test]
fn sms_delivery_receipts_holding_full_numbers_are_kept_a_week() {
    let template = template();
    for group in ["SmsDeliveryLogs", "SmsDeliveryFailureLogs"] {
        assert_eq!(
            template["Resources"][group]["Properties"]["RetentionInDays"].as_u64(),
            Some(7),
            "{group}"
        );
    }
}

#[test]
fn the_readme_signs_in_from_a_terminal_with_the_mfa_step() {
    let template = template();
    assert_eq!(
        template["Resources"]["UserPool"]["Properties"]["MfaConfiguration"].as_str(),
        Some("ON")
    );
    let readme = repo_file("README.md");
    let start = readme
        .find("aws cognito-idp initiate-auth")
        .expect("initiate-auth");
    let sign_in = &readme[start..start + readme[start..].find("curl ").expect("curl")];
    // The password alone answers a challenge, not tokens.
    assert!(sign_in.contains("--query Session"), "{sign_in}");
    for step in [
        "respond-to-auth-challenge",
        "--challenge-name SOFTWARE_TOKEN_MFA",
        "SOFTWARE_TOKEN_MFA_CODE=",
        "AuthenticationResult.IdToken",
    ] {
        assert!(sign_in.contains(step), "{step} in {sign_in}");
    }
}

#[test]
fn the_functions_that_estimate_or_approve_read_the_providers_limits_and_pace() {
    let template = template();
    // The estimate (campaigns), the cabinet's approval (approve) and the weather relay's
    // approval at once weigh a campaign against SES's daily quota and SNS's spend limit.
    for action in ["ses:GetAccount", "sns:GetSMSAttributes"] {
        let granted = functions_granted(&template, action);
        for binary in ["campaigns", "approve", "weather"] {
            assert!(granted.contains(binary), "{binary} may not {action}");
        }
    }
    // The senders keep to what is left of the daily email quota; the schedule's repair gives a
    // campaign larger than the quota a day per quota's worth before calling it stuck.
    let granted = functions_granted(&template, "ses:GetAccount");
    for binary in ["send", "fan-out"] {
        assert!(granted.contains(binary), "{binary} may not ses:GetAccount");
    }
    // And know the send rates, to say when a campaign would finish.
    for binary in ["campaigns", "approve", "send"] {
        let (id, f) = function(&template, binary);
        let vars = &f["Properties"]["Environment"]["Variables"];
        for rate in ["TELMAIL_EMAIL_RATE", "TELMAIL_SMS_RATE"] {
            assert!(reference(&vars[rate]).is_some(), "{id} lacks {rate}");
        }
    }
}

/// The policy statements of a function, written inline.
fn statements_of(f: &Value) -> Vec<&Value> {
    f["Properties"]["Policies"]
        .as_sequence()
        .expect("Policies")
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .collect()
}

/// A `!Sub` string (or the first item of a `!Sub` list).
fn sub(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str(),
        _ => None,
    }
}

#[test]
fn only_send_places_calls_from_the_towns_number_and_their_outcomes_reach_feedback() {
    let template = template();
    // GIVEN the town's number, a parameter empty by default (no voice service: calls refused)
    let number = &template["Parameters"]["VoiceOriginationNumberId"];
    assert_eq!(number["Default"].as_str(), Some(""));
    assert_eq!(default_of(&template, "VoiceRetries"), 2);
    assert_eq!(default_of(&template, "VoiceRetryMinutes"), 5);
    // SQS delays a job 15 minutes at most: a retry further off could not be queued.
    assert_eq!(
        template["Parameters"]["VoiceRetryMinutes"]["MaxValue"].as_u64(),
        Some(15)
    );
    // THEN only `send` may place calls, from that number and with the calls' configuration set
    assert_eq!(
        functions_granted(&template, "sms-voice:SendVoiceMessage"),
        BTreeSet::from(["send".to_owned()])
    );
    assert!(functions_granted(&template, "sms-voice:*").is_empty());
    let (_, send) = function(&template, "send");
    let calls = statements_of(send)
        .into_iter()
        .find(|s| s["Action"].as_str() == Some("sms-voice:SendVoiceMessage"))
        .expect("the call statement");
    let resources: Vec<&str> = calls["Resource"]
        .as_sequence()
        .expect("resources listed")
        .iter()
        .map(|r| sub(r).expect("an ARN built with !Sub"))
        .collect();
    assert_eq!(resources.len(), 2, "{resources:?}");
    assert!(resources[0].ends_with(":phone-number/${VoiceOriginationNumberId}"));
    assert!(resources[1].ends_with(":configuration-set/${VoiceConfigurationSet}"));
    let vars = &send["Properties"]["Environment"]["Variables"];
    assert_eq!(
        reference(&vars["TELMAIL_VOICE_ORIGINATION"]),
        Some("VoiceOriginationNumberId")
    );
    assert_eq!(
        reference(&vars["TELMAIL_VOICE_CONFIGURATION_SET"]),
        Some("VoiceConfigurationSet")
    );
    // AND the configuration set reports each outcome that is recorded or calls again to the
    // topic `feedback` reads, which only End User Messaging's own configuration set may publish to
    let sets = resources_of(&template, "AWS::SMSVOICE::ConfigurationSet");
    assert_eq!(sets.len(), 1);
    let (set_id, set) = sets[0];
    assert_eq!(set_id, "VoiceConfigurationSet");
    let destination = &set["Properties"]["EventDestinations"][0];
    assert_eq!(destination["Enabled"].as_bool(), Some(true));
    assert_eq!(
        reference(&destination["SnsDestination"]["TopicArn"]),
        Some("FeedbackTopic")
    );
    let types: BTreeSet<&str> = destination["MatchingEventTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for kind in [
        "VOICE_ANSWERED",
        "VOICE_COMPLETED",
        "VOICE_BUSY",
        "VOICE_NO_ANSWER",
        "VOICE_FAILED",
        "VOICE_TTL_EXPIRED",
    ] {
        assert!(types.contains(kind), "{kind}");
    }
    let (_, feedback) = function(&template, "feedback");
    let events = feedback["Properties"]["Events"].as_mapping().unwrap();
    assert!(events
        .values()
        .any(|e| reference(&e["Properties"]["Topic"]) == Some("FeedbackTopic")));
    let policy = &template["Resources"]["FeedbackTopicPolicy"]["Properties"]["PolicyDocument"];
    let from_calls = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("sms-voice.amazonaws.com"))
        .expect("End User Messaging may publish the call events");
    let source = sub(&from_calls["Condition"]["ArnLike"]["AWS:SourceArn"]).unwrap();
    assert!(
        source.ends_with(":configuration-set/${AWS::StackName}-calls"),
        "{source}"
    );
    assert_eq!(
        sub(&set["Properties"]["ConfigurationSetName"]),
        Some("${AWS::StackName}-calls")
    );
    // AND `feedback` queues the calls again on either delivery lane, with the retry settings
    let vars = &feedback["Properties"]["Environment"]["Variables"];
    assert_eq!(
        reference(&vars["TELMAIL_VOICE_RETRIES"]),
        Some("VoiceRetries")
    );
    assert_eq!(
        reference(&vars["TELMAIL_VOICE_RETRY_MINUTES"]),
        Some("VoiceRetryMinutes")
    );
    let queues = format!("{:?}", feedback["Properties"]["Policies"]);
    for queue in ["DeliveryQueue.QueueName", "UrgentDeliveryQueue.QueueName"] {
        assert!(queues.contains(queue), "feedback may not queue on {queue}");
    }
}

#[test]
fn subscribe_hands_a_landline_code_call_to_send_through_the_urgent_queue() {
    let template = template();
    let (_, subscribe) = function(&template, "subscribe");
    // GIVEN the town's number, which tells `subscribe` whether calls are possible
    let vars = &subscribe["Properties"]["Environment"]["Variables"];
    assert_eq!(
        reference(&vars["TELMAIL_VOICE_ORIGINATION"]),
        Some("VoiceOriginationNumberId")
    );
    // THEN it may queue on the urgent lane, and on no other queue…
    let queues: Vec<String> = subscribe["Properties"]["Policies"]
        .as_sequence()
        .expect("Policies")
        .iter()
        .filter_map(|p| p.get("SQSSendMessagePolicy"))
        .map(|p| format!("{:?}", p["QueueName"]))
        .collect();
    assert_eq!(queues.len(), 1, "{queues:?}");
    assert!(queues[0].contains("UrgentDeliveryQueue"), "{queues:?}");
    // …and places no call itself (`send` does, from the queue)
    assert!(!functions_granted(&template, "sms-voice:SendVoiceMessage").contains("subscribe"));
    let send = &template["Resources"][&Value::from("SendFunction")];
    let consumed: Vec<String> = send["Properties"]["Events"]
        .as_mapping()
        .expect("send's events")
        .values()
        .map(|e| format!("{:?}", e["Properties"]["Queue"]))
        .collect();
    assert!(
        consumed.iter().any(|q| q.contains("UrgentDeliveryQueue")),
        "{consumed:?}"
    );
}

/// The functions whose `Cargo.toml` turns `feature` of telmail-aws on.
fn functions_with_feature(feature: &str) -> BTreeSet<String> {
    let functions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions");
    std::fs::read_dir(functions)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            manifest
                .lines()
                .any(|l| l.starts_with("telmail-aws") && l.contains(&format!("\"{feature}\"")))
        })
        .map(|dir| dir.file_name().unwrap().to_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_functions_linking_an_sdk_client_are_those_allowed_to_use_it() {
    let template = template();
    for (feature, granted) in [
        // Staff told of a campaign submitted, decided, or of a weather alert.
        ("directory", "cognito-idp:ListUsersInGroup"),
        // The bucket of big files: its links and the jobs' steps.
        ("files", "FilesBucket"),
        // Campaign calls.
        ("voice", "sms-voice:SendVoiceMessage"),
    ] {
        let linking = functions_with_feature(feature);
        assert!(!linking.is_empty(), "{feature}");
        assert_eq!(
            linking,
            functions_granted(&template, granted),
            "the functions built with telmail-aws's `{feature}` and those granted {granted}"
        );
    }
}

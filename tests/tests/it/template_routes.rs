//! Keeps `template.yaml` true to the staff route table (API Gateway must send every staff path
//! to the Lambda function of its part, no function receiving a path it does not serve) and to
//! the audit trail (staff cannot rewrite the identity it shows).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;
use telmail_http::admin::{part_paths, Part};

/// The catch-all staff route of the template.
const OTHER_STAFF_PATHS: &str = "/api/admin/{proxy+}";

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(&path).expect("template.yaml")).unwrap()
}

/// The HTTP API paths routed to the function built from `binary`.
fn routed_paths(template: &Value, binary: &str) -> BTreeSet<String> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    let function = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function with Binary {binary}"));
    function["Properties"]["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(|e| e["Properties"]["Path"].as_str().expect("Path").to_owned())
        .collect()
}

#[test]
fn every_staff_path_goes_to_the_function_of_its_part() {
    let template = template();
    for (binary, part) in [
        ("campaigns", Part::Campaigns),
        ("approve", Part::Approval),
        ("admin", Part::File),
        ("files", Part::Files),
    ] {
        let mut served: BTreeSet<String> =
            part_paths(part).into_iter().map(str::to_owned).collect();
        if part == Part::File {
            // Any other staff path still needs a token; the admin function answers it 404.
            served.insert(OTHER_STAFF_PATHS.to_owned());
        }
        assert_eq!(
            routed_paths(&template, binary),
            served,
            "template.yaml routes to `{binary}` other paths than the {part:?} part serves"
        );
    }
}

#[test]
fn staff_cannot_rewrite_the_name_and_email_the_audit_trail_shows() {
    let template = template();
    let client = &template["Resources"]["UserPoolClient"]["Properties"];
    let writable: Vec<&str> = client["WriteAttributes"]
        .as_sequence()
        .expect("WriteAttributes listed (absent or empty means every attribute is writable)")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(!writable.is_empty());
    for kept in ["name", "email", "phone_number"] {
        assert!(!writable.contains(&kept), "{kept} is writable by staff");
    }
}

#[test]
fn no_function_may_scan_the_table_and_only_some_may_delete() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .unwrap();
    // SAM's DynamoDB policy templates include Scan; the functions use the explicit policy.
    for forbidden in [
        "DynamoDBCrudPolicy",
        "DynamoDBReadPolicy",
        "dynamodb:Scan",
        "dynamodb:*",
    ] {
        assert!(
            !text.contains(forbidden),
            "template.yaml grants {forbidden}"
        );
    }
    let actions: Vec<&str> = resources[&Value::from("TableItemsPolicy")]["Properties"]
        ["PolicyDocument"]["Statement"][0]["Action"]
        .as_sequence()
        .expect("the table policy's actions")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(actions.contains(&"dynamodb:Query") && !actions.contains(&"dynamodb:Scan"));
    assert!(
        !actions.contains(&"dynamodb:DeleteItem"),
        "deleting is apart"
    );
    // Every function reaches the table through that policy; only those that delete items may.
    let mut deleting = BTreeSet::new();
    for (name, r) in resources {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            let policies = format!("{:?}", r["Properties"]["Policies"]);
            assert!(
                policies.contains("TableItemsPolicy"),
                "{name:?} has no access to the table: {policies}"
            );
            if policies.contains("TableDeletesPolicy") {
                deleting.insert(r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap());
            }
        }
    }
    assert_eq!(
        deleting,
        BTreeSet::from(["admin", "fan-out", "subscribe", "weather"]),
        "campaigns, approval, sending and feedback never delete"
    );
    // And no adapter asks for a Scan (the store's own table creation for tests aside).
    let dynamo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/aws/src/dynamo");
    for entry in std::fs::read_dir(dynamo).unwrap() {
        let path = entry.unwrap().path();
        let code = std::fs::read_to_string(&path).unwrap();
        assert!(
            !code.contains(".scan()"),
            "{} scans the table",
            path.display()
        );
    }
}

#[test]
fn only_the_functions_that_make_links_may_read_the_signing_key() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let globals = format!("{:?}", template["Globals"]);
    assert!(
        !globals.contains("SIGNING_KEY"),
        "the signing key is not given to every function"
    );
    let mut readers = BTreeSet::new();
    for r in resources.values() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary")
            .to_owned();
        let env = format!("{:?}", r["Properties"]["Environment"]);
        let policies = format!("{:?}", r["Properties"]["Policies"]);
        let named = env.contains("TELMAIL_SIGNING_KEY_SECRET");
        let allowed = policies.contains("SigningKeySecret");
        assert_eq!(
            named, allowed,
            "{binary}: the secret named and allowed together"
        );
        if allowed {
            readers.insert(binary);
        }
    }
    assert_eq!(
        readers,
        BTreeSet::from(["send".to_owned(), "subscribe".to_owned()])
    );
}

#[test]
fn big_files_are_private_encrypted_short_lived_and_reached_by_two_functions() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let bucket = &template["Resources"]["FilesBucket"]["Properties"];
    let encryption = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str(),
        Some("AES256")
    );
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["ExpirationInDays"].as_u64(), Some(1));
    assert_eq!(
        rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64(),
        Some(1)
    );
    let policy = format!(
        "{:?}",
        template["Resources"]["FilesBucketPolicy"]["Properties"]
    );
    assert!(policy.contains("aws:SecureTransport"), "TLS only");

    let mut reaching = BTreeSet::new();
    for r in resources.values() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let policies = format!("{:?}", r["Properties"]["Policies"]);
        if policies.contains("FilesBucket") {
            assert!(!policies.contains("s3:*"), "named S3 actions only");
            reaching.insert(
                r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .expect("Binary")
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        reaching,
        BTreeSet::from(["files".to_owned(), "fan-out".to_owned()])
    );
}

#[test]
fn the_website_goes_to_subscribe_and_the_framing_origins_are_a_parameter() {
    let template = template();
    // The archive, feeds, alert JSON and widgets are public paths: none is routed apart, so the
    // HTTP API's default route takes them to `subscribe`, which serves them.
    assert_eq!(
        routed_paths(&template, "subscribe"),
        BTreeSet::from(["$default".to_owned()])
    );
    for binary in ["campaigns", "approve", "admin"] {
        for path in routed_paths(&template, binary) {
            assert!(
                path.starts_with("/api/admin/"),
                "{path} (a public path?) goes to {binary}"
            );
        }
    }
    for path in telmail_http::website::PATHS {
        assert!(!path.starts_with("/api/admin/"), "{path}");
    }
    // The origins that may frame the resident pages: a parameter, none by default, given to
    // every function as TELMAIL_FRAME_ANCESTORS.
    let parameter = &template["Parameters"]["FrameAncestors"];
    assert_eq!(parameter["Default"].as_str(), Some(""));
    let variable =
        &template["Globals"]["Function"]["Environment"]["Variables"]["TELMAIL_FRAME_ANCESTORS"];
    assert_eq!(
        variable,
        &serde_norway::from_str::<Value>("!Ref FrameAncestors").unwrap(),
        "{variable:?}"
    );
}

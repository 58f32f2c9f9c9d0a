//! A real Télmail server on port 0 with a fresh data folder, and helpers that read the outbox
//! the way a resident reads their mail.

#![allow(dead_code)] // each test binary uses a different part of this helper

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;

use mail_parser::MessageParser;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use serde_json::Value;
use telmail_core::clock::SystemClock;
use telmail_core::domain::campaign::CampaignId;
use telmail_local::{RunningServer, ServerArgs};

/// The signing key the test servers use, so tests can forge expired or tampered links.
pub const TEST_KEY: &str = "test-signing-key-with-at-least-32-characters!";

/// A running server and a client that does not follow redirects.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub data_dir: PathBuf,
    server: Option<RunningServer>,
    _dir: Option<tempfile::TempDir>,
}

/// One email as the resident receives it.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl TestApp {
    /// A server with a generous rate limit.
    pub async fn spawn() -> Self {
        Self::spawn_with(|a| a.rate_limit_per_minute = NonZeroU32::new(10_000).unwrap()).await
    }

    /// A server with adjusted settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServerArgs)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = ServerArgs::with_data_dir(dir.path());
        args.signing_key = Some(TEST_KEY.into());
        // SMS go at any hour of any day unless a test gives its own window: what a test checks
        // must not depend on when it runs.
        args.sms_window = telmail_core::domain::sending_window::ALWAYS_OPEN.into();
        adjust(&mut args);
        let server = telmail_local::start(args).await.expect("server starts");
        Self {
            // Requests go to the socket, whatever public address links are written with.
            base: format!("http://{}", server.addr),
            client: Client::builder().redirect(Policy::none()).build().unwrap(),
            data_dir: dir.path().to_owned(),
            server: Some(server),
            _dir: Some(dir),
        }
    }

    /// A client of a server another process runs (the real binary) at `base`, on `data_dir`.
    pub fn of_process(base: &str, data_dir: &std::path::Path) -> Self {
        Self {
            base: base.to_owned(),
            client: Client::builder().redirect(Policy::none()).build().unwrap(),
            data_dir: data_dir.to_owned(),
            server: None,
            _dir: None,
        }
    }

    /// The server started in this process.
    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("a server started in-process")
    }

    /// Stops the server cleanly.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form as a browser does, expecting 200; the page's HTML as sent.
    pub async fn form_ok(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let resp = self.post_form(path, fields).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.text().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// What "download my data" returns for a preference-page token.
    pub async fn exported(&self, manage_token: &str) -> Value {
        let resp = self
            .get(&format!("/preferences/donnees?t={manage_token}"))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// A second handle on the server's database, to check what is stored.
    pub fn store(&self) -> telmail_local::store::SqliteStore {
        let db = telmail_local::db::Db::open(&self.data_dir.join("telmail.sqlite")).unwrap();
        // The server under test runs on the system clock.
        telmail_local::store::SqliteStore::new(db, std::sync::Arc::new(SystemClock))
    }

    /// Every email in the outbox, oldest first.
    pub fn emails(&self) -> Vec<ReceivedEmail> {
        let dir = self.data_dir.join("outbox/email");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let raw = std::fs::read_to_string(&p).unwrap();
                let msg = MessageParser::default()
                    .parse(raw.as_bytes())
                    .expect("valid RFC 5322");
                ReceivedEmail {
                    to: msg
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_owned(),
                    subject: msg.subject().unwrap_or_default().to_owned(),
                    text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                    html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                    raw,
                }
            })
            .collect()
    }

    /// Emails sent to one address.
    pub fn emails_to(&self, to: &str) -> Vec<ReceivedEmail> {
        self.emails().into_iter().filter(|e| e.to == to).collect()
    }

    /// Every SMS in the outbox, oldest first.
    pub fn sms(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.join("outbox/sms.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// SMS sent to one number (E.164).
    pub fn sms_to(&self, to: &str) -> Vec<Value> {
        self.sms().into_iter().filter(|s| s["to"] == to).collect()
    }
}

/// The first link in a text starting with `base + path`.
pub fn link(text: &str, path: &str) -> String {
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no link to {path} in:\n{text}"));
    let begin = text[..start].rfind("http").expect("absolute link");
    text[begin..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .unwrap()
        .to_owned()
}

/// The path and query of an absolute link.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_owned()
}

/// The six-digit code a call reads to a landline (« … code de confirmation est 1, 2, 3… »).
pub fn spoken_code(said: &str) -> String {
    said.split("code de confirmation est ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// The value of the `t` query parameter of a link.
pub fn token_of(url: &str) -> String {
    url.split_once("t=")
        .expect("token in link")
        .1
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

/// The 6-digit code in an SMS text.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned()
}

/// The standard sign-up form fields.
pub fn signup_fields<'a>(
    email: &'a str,
    phone: &'a str,
    choices: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("email", email), ("phone", phone), ("consent", "on")];
    f.extend(choices.iter().map(|c| ("choix", *c)));
    f
}

/// The body of an HTML page with entities decoded, as a browser would show its text and links.
pub async fn page_text(resp: Response) -> String {
    resp.text()
        .await
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A logged-in staff member: session cookie and CSRF token, as a browser would hold them.
pub struct StaffClient<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// The running server's use cases.
    pub fn services(&self) -> &telmail_local::app::Services {
        &self.server.as_ref().expect("running").services
    }

    /// Creates a staff account with a test email and phone.
    pub async fn add_staff(
        &self,
        username: &str,
        roles: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) {
        let identity = telmail_core::domain::staff::StaffIdentity {
            name: username.to_uppercase(),
            email: email.map(|e| telmail_core::domain::contact::Email::from_str(e).unwrap()),
            phone: phone.map(|p| telmail_core::domain::contact::PhoneNumber::from_str(p).unwrap()),
            department: None,
            ..telmail_tests::staff(username, roles)
        };
        self.services()
            .staff_auth
            .add_account(identity, telmail_tests::process::STAFF_PASSWORD)
            .await
            .unwrap();
    }

    /// Creates a `service` account of a town department, told by email of its proposals.
    pub async fn add_department_member(&self, username: &str, department: &str, email: &str) {
        let identity = telmail_core::domain::staff::StaffIdentity {
            name: username.to_uppercase(),
            email: Some(telmail_core::domain::contact::Email::from_str(email).unwrap()),
            department: Some(department.to_owned()),
            ..telmail_tests::staff(username, "service")
        };
        self.services()
            .staff_auth
            .add_account(identity, telmail_tests::process::STAFF_PASSWORD)
            .await
            .unwrap();
    }

    /// Logs in and keeps the cookie and CSRF token.
    pub async fn login(&self, username: &str) -> StaffClient<'_> {
        let resp = self
            .post_json("/api/admin/login", &serde_json::json!({ "username": username, "password": telmail_tests::process::STAFF_PASSWORD }))
            .await;
        assert_eq!(resp.status(), 200, "login {username}");
        let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
            "{set_cookie}"
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        StaffClient {
            app: self,
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Handles every queued job now (the server runs without its background worker).
    pub async fn drain(&self) -> usize {
        let s = self.services();
        telmail_local::worker::Worker::new(
            s.queue.clone(),
            s.use_cases.jobs.clone(),
            Default::default(),
        )
        .drain()
        .await
        .unwrap()
    }
}

impl StaffClient<'_> {
    fn with_auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.with_auth(self.app.client.get(self.app.url(path)))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.with_auth(self.app.client.post(self.app.url(path)))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_empty(&self, path: &str) -> Response {
        self.with_auth(self.app.client.post(self.app.url(path)))
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.with_auth(self.app.client.put(self.app.url(path)))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.with_auth(self.app.client.delete(self.app.url(path)))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Response {
        self.with_auth(self.app.client.post(self.app.url(path)))
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Reads `path`, expecting 200; the JSON body.
    pub async fn read(&self, path: &str) -> Value {
        Self::expect(self.get(path).await, 200).await
    }

    /// Posts `body` to `path`, expecting 200; the JSON body.
    pub async fn post_ok(&self, path: &str, body: &Value) -> Value {
        Self::expect(self.post(path, body).await, 200).await
    }

    /// Posts `body` to `path`, expecting `status`; the JSON body.
    pub async fn post_expect(&self, path: &str, body: &Value, status: u16) -> Value {
        Self::expect(self.post(path, body).await, status).await
    }

    /// Posts nothing to `path`, expecting `status`; the JSON body.
    pub async fn post_empty_expect(&self, path: &str, status: u16) -> Value {
        Self::expect(self.post_empty(path).await, status).await
    }

    /// Reads `path`, expecting `status` (an error, most often); the JSON body.
    pub async fn get_expect(&self, path: &str, status: u16) -> Value {
        Self::expect(self.get(path).await, status).await
    }

    /// Deletes `path`, expecting `status`; the JSON body.
    pub async fn delete_expect(&self, path: &str, status: u16) -> Value {
        Self::expect(self.delete(path).await, status).await
    }

    /// Puts `body` at `path`, expecting `status`; the JSON body.
    pub async fn put_expect(&self, path: &str, body: &Value, status: u16) -> Value {
        Self::expect(self.put(path, body).await, status).await
    }

    /// Imports a CSV of residents (`query` chooses the mode), expecting 200; the report.
    pub async fn import_report(&self, query: &str, csv: &str) -> Value {
        let path = format!("/api/admin/subscribers/import{query}");
        Self::expect(self.post_bytes(&path, csv.as_bytes().to_vec()).await, 200).await
    }

    /// Writes a campaign (expecting 201); its id.
    pub async fn draft(&self, campaign: &Value) -> CampaignId {
        let created = Self::expect(self.post("/api/admin/campaigns", campaign).await, 201).await;
        created["id"].as_str().unwrap().parse().unwrap()
    }

    /// Asks for `action` (`submit`, `reject`, `cancel`…) on a campaign, with `body` if any.
    pub async fn act(&self, id: CampaignId, action: &str, body: Option<&Value>) -> Response {
        let path = format!("/api/admin/campaigns/{id}/{action}");
        match body {
            Some(body) => self.post(&path, body).await,
            None => self.post_empty(&path).await,
        }
    }

    /// A campaign as the back office reads it, with its events and counts.
    pub async fn campaign(&self, id: CampaignId) -> Value {
        self.read(&format!("/api/admin/campaigns/{id}")).await
    }

    /// The estimate of a campaign (recipients, SMS analysis, cost, sending outlook).
    pub async fn estimate(&self, id: CampaignId) -> Value {
        Self::expect(self.act(id, "estimate", None).await, 200).await
    }

    /// Submits a campaign to the cabinet, expecting 200; the campaign.
    pub async fn submit(&self, id: CampaignId) -> Value {
        Self::expect(self.act(id, "submit", None).await, 200).await
    }

    /// Sends a submitted campaign back to its writer with `reason`, expecting 200; the campaign.
    pub async fn reject(&self, id: CampaignId, reason: &str) -> Value {
        let reason = serde_json::json!({ "reason": reason });
        Self::expect(self.act(id, "reject", Some(&reason)).await, 200).await
    }

    /// Approves the campaign as it reads now (its current version), as the back office does.
    pub async fn try_approve(&self, id: CampaignId) -> Response {
        let read = self.read(&format!("/api/admin/campaigns/{id}")).await;
        let version = serde_json::json!({ "version": read["version"] });
        self.act(id, "approve", Some(&version)).await
    }

    /// [`Self::try_approve`], expecting 200; the campaign.
    pub async fn approve(&self, id: CampaignId) -> Value {
        Self::expect(self.try_approve(id).await, 200).await
    }

    /// Asserts a status and returns the French message of the whole error.
    pub async fn expect_message(resp: Response, status: u16) -> String {
        let err = Self::expect(resp, status).await;
        err["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {err}"))
            .to_owned()
    }

    /// Asserts a status and returns the French message naming `field`.
    pub async fn expect_error(resp: Response, status: u16, field: &str) -> String {
        let err = Self::expect(resp, status).await;
        err["fields"][field]
            .as_str()
            .unwrap_or_else(|| panic!("no error on {field}: {err}"))
            .to_owned()
    }

    /// Asserts a status and returns the JSON body.
    pub async fn expect(resp: Response, status: u16) -> Value {
        let got = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(got, status, "{body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }
}

/// The id of a campaign as the API returns it.
pub fn campaign_id(campaign: &Value) -> CampaignId {
    campaign["id"].as_str().unwrap().parse().unwrap()
}

/// `redac` submits the campaign `id` to the cabinet, `cab` approves the version it reads.
pub async fn submit_and_approve(redac: &StaffClient<'_>, cab: &StaffClient<'_>, id: CampaignId) {
    redac.submit(id).await;
    cab.approve(id).await;
}

/// These items, sorted: the recipients of a campaign in an order a test can compare.
pub fn sorted<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.into_iter().collect();
    items.sort();
    items
}

/// A CSV of `n` residents on « Informations pratiques » by email, `habitant0000@exemple.fr`…
pub fn residents_csv(n: usize) -> String {
    let mut csv = String::from("email;themes;canaux\n");
    for i in 0..n {
        csv.push_str(&format!(
            "habitant{i:04}@exemple.fr;infos-pratiques;email\n"
        ));
    }
    csv
}

/// `by` imports a CSV, all or nothing; returns how many subscribers were added.
pub async fn import(by: &StaffClient<'_>, csv: String) -> u64 {
    let report = StaffClient::expect(
        by.post_bytes("/api/admin/subscribers/import", csv.into_bytes())
            .await,
        200,
    )
    .await;
    report["imported"]
        .as_u64()
        .unwrap_or_else(|| panic!("{report}"))
}

/// An email campaign on « Informations pratiques » with this subject.
pub fn email_campaign(subject: &str) -> Value {
    serde_json::json!({
        "title": subject, "topics": ["infos-pratiques"], "sms": null, "urgent": false,
        "send_at": null, "email": { "subject": subject, "body_markdown": "Samedi place Thiers." }
    })
}

/// `redac` writes `draft` and `cab` approves it; returns the campaign's id.
pub async fn send_campaign(
    redac: &StaffClient<'_>,
    cab: &StaffClient<'_>,
    draft: &Value,
) -> CampaignId {
    let id = redac.draft(draft).await;
    submit_and_approve(redac, cab, id).await;
    id
}

/// A data folder for the real binary with its staff accounts (`"redac:redaction"`…, made by
/// its `staff add` command), and a folder for the servers' output.
pub struct Town {
    data: std::path::PathBuf,
    logs: tempfile::TempDir,
    runs: u32,
    _owned: Option<tempfile::TempDir>,
}

impl Town {
    /// A fresh temporary data folder.
    pub fn new(accounts: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut town = Self::at(data.path(), accounts);
        town._owned = Some(data);
        town
    }

    /// The data folder `dir` (made by the caller, e.g. on a file system it mounted).
    pub fn at(dir: &std::path::Path, accounts: &[&str]) -> Self {
        for account in accounts {
            let (username, roles) = account.split_once(':').expect("username:roles");
            telmail_tests::process::staff_add(dir, username, roles);
        }
        Self {
            data: dir.to_owned(),
            logs: tempfile::tempdir().unwrap(),
            runs: 0,
            _owned: None,
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.data
    }

    /// Starts the binary on the folder (again), with `args`.
    pub async fn start(
        &mut self,
        args: &[&str],
    ) -> (telmail_tests::process::LocalProcess, TestApp) {
        self.runs += 1;
        let log = self.logs.path().join(format!("run-{}.log", self.runs));
        let server = telmail_tests::process::LocalProcess::start(self.dir(), args, &log).await;
        let app = TestApp::of_process(&server.base, self.dir());
        (server, app)
    }
}

/// Polls until `ready` gives a value, at most `within`.
pub async fn wait_for<T, F, Fut>(what: &str, within: std::time::Duration, mut ready: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = telmail_tests::stopwatch() + within;
    loop {
        if let Some(v) = ready().await {
            return v;
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

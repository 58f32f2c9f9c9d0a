//! The crisis cell over HTTP (#30, part 4): its members kept apart from residents by an
//! administrator, alerted by SMS and call in one action by the cabinet, each message carrying
//! the answer link, and the alert's live view filling as they answer.

use crate::common::*;
use serde_json::{json, Value};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("admin", "admin", None, None).await;
    app
}

/// Every call attempt of the outbox, oldest first.
fn calls(app: &TestApp) -> Vec<Value> {
    std::fs::read_to_string(app.data_dir.join("outbox/voice.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const MEMBERS: &str = "/api/admin/cell/members";
const ALERTS: &str = "/api/admin/cell/alerts";

#[tokio::test]
async fn administrators_keep_the_cell_and_bad_input_is_named_in_french() {
    let app = app().await;
    let admin = app.login("admin").await;
    let cab = app.login("cab").await;
    let redac = app.login("redac").await;

    // WHEN an administrator adds the mayor, with a mobile and a landline
    let mayor = json!({
        "name": "Marie Dupont", "function": "Maire",
        "mobile": "06 12 34 56 78", "landline": "05 56 83 94 94", "email": "maire@exemple.fr",
    });
    let added = admin.post_expect(MEMBERS, &mayor, 201).await;
    // THEN the numbers are kept in E.164, and the member is on duty by default
    assert_eq!(added["mobile"], "+33612345678");
    assert_eq!(added["landline"], "+33556839494");
    assert_eq!(added["on_duty"], true);
    let id = added["id"].as_str().unwrap().to_owned();

    // Each refused field is named, in French
    let bad = admin
        .post_expect(
            MEMBERS,
            &json!({ "name": " ", "function": "", "mobile": "05 56 83 94 94", "email": "x@" }),
            422,
        )
        .await;
    assert_eq!(
        bad["fields"]["name"],
        "Indiquez le nom du membre de la cellule."
    );
    assert!(bad["fields"]["function"]
        .as_str()
        .unwrap()
        .starts_with("Indiquez sa fonction"));
    assert!(
        bad["fields"]["mobile"]
            .as_str()
            .unwrap()
            .contains("n'est pas un numéro de mobile"),
        "{bad}"
    );
    assert!(bad["fields"]["email"].as_str().unwrap().contains("x@"));
    let no_phone = admin
        .post_expect(
            MEMBERS,
            &json!({ "name": "Paul", "function": "Agent d'astreinte" }),
            422,
        )
        .await;
    assert!(no_phone["fields"]["mobile"]
        .as_str()
        .unwrap()
        .starts_with("Indiquez au moins un numéro"));
    let wrong_type = admin
        .post_expect(
            MEMBERS,
            &json!({ "name": "Paul", "function": "Agent", "mobile": "0611223344", "on_duty": "oui" }),
            422,
        )
        .await;
    assert!(wrong_type["fields"]["on_duty"].is_string(), "{wrong_type}");

    // An administrator edits a member; an unknown one is a French 404
    let edited = admin
        .put_expect(
            &format!("{MEMBERS}/{id}"),
            &json!({ "name": "Marie Dupont", "function": "Maire", "landline": "05 56 83 94 94", "on_duty": false }),
            200,
        )
        .await;
    assert!(edited["mobile"].is_null(), "{edited}");
    assert_eq!(edited["on_duty"], false);
    let unknown = admin
        .put_expect(&format!("{MEMBERS}/pas-un-id"), &mayor, 404)
        .await;
    assert_eq!(
        unknown["message"],
        "Ce membre de la cellule de crise n'existe pas."
    );

    // The cabinet reads the cell but does not change it; the communication service does neither
    let listed = cab.read(MEMBERS).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(cab.post(MEMBERS, &mayor).await.status(), 403);
    assert_eq!(cab.delete(&format!("{MEMBERS}/{id}")).await.status(), 403);
    assert_eq!(redac.get(MEMBERS).await.status(), 403);
    assert_eq!(
        redac
            .post(ALERTS, &json!({ "text": "PCS activé" }))
            .await
            .status(),
        403
    );
    // …and the cell is no part of the subscriber file
    let file = redac.read("/api/admin/subscribers?q=Dupont").await;
    assert_eq!(file["items"].as_array().unwrap().len(), 0, "{file}");

    // An administrator removes the member
    admin.delete_expect(&format!("{MEMBERS}/{id}"), 204).await;
    assert_eq!(admin.read(MEMBERS).await, json!([]));
    admin.delete_expect(&format!("{MEMBERS}/{id}"), 404).await;
}

#[tokio::test]
async fn the_cabinet_alerts_the_cell_by_sms_and_call_and_follows_who_is_safe() {
    // GIVEN three members: a mobile, a landline only, and an agent off duty with a mobile
    let app = app().await;
    let admin = app.login("admin").await;
    let cab = app.login("cab").await;
    let add = |body: Value| {
        let admin = &admin;
        async move {
            admin.post_expect(MEMBERS, &body, 201).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mayor =
        add(json!({ "name": "Marie Dupont", "function": "Maire", "mobile": "06 12 34 56 78" }))
            .await;
    let deputy = add(json!({ "name": "Jean Martin", "function": "Adjoint à la sécurité", "landline": "05 56 83 94 94" })).await;
    let agent = add(json!({ "name": "Luc Bernard", "function": "Agent d'astreinte", "mobile": "06 98 76 54 32", "on_duty": false })).await;

    // A text with a link cannot be read aloud: refused under `text`
    let refused = cab
        .post_expect(ALERTS, &json!({ "text": "Voir https://arcachon.fr" }), 422)
        .await;
    assert!(
        refused["fields"]["text"].as_str().unwrap().contains("lien"),
        "{refused}"
    );

    // WHEN the cabinet alerts the whole cell
    let text = "Activation du PCS : submersion marine. Rendez-vous au poste de commandement.";
    let sent = cab.post_expect(ALERTS, &json!({ "text": text }), 201).await;
    // THEN one SMS per mobile and one call per member, without waiting for any approval
    assert_eq!(
        (&sent["members"], &sent["sms"], &sent["calls"]),
        (&json!(3), &json!(2), &json!(3)),
        "{sent}"
    );
    let id = sent["campaign"].as_str().unwrap().to_owned();
    app.drain().await;
    let sms = app.sms();
    assert_eq!(sms.len(), 2, "{sms:?}");
    let to_mayor = app.sms_to("+33612345678");
    let sms_text = to_mayor[0]["text"].as_str().unwrap();
    assert!(sms_text.starts_with(text), "{sms_text}");
    assert!(sms_text.contains("\nEn sécurité ? http"), "{sms_text}");
    let calls = calls(&app);
    let mut called: Vec<&str> = calls.iter().map(|c| c["to"].as_str().unwrap()).collect();
    called.sort_unstable();
    assert_eq!(called, ["+33556839494", "+33612345678", "+33698765432"]);
    let spoken = calls[0]["text"].as_str().unwrap();
    assert!(
        spoken.starts_with("Message de la Ville d'Arcachon."),
        "{spoken}"
    );
    assert!(spoken.contains("Je répète."), "{spoken}");
    assert!(
        spoken.ends_with("ouvrez le lien du SMS de la Ville."),
        "{spoken}"
    );

    // AND the live view shows every member reached, none answered yet
    let view_path = format!("{ALERTS}/{id}");
    let view = cab.read(&view_path).await;
    assert_eq!(view["sent_by"], "CAB");
    assert_eq!(view["text"], text);
    assert_eq!(
        view["totals"],
        json!({ "people": 3, "reached": 3, "not_reached": 0, "pending": 0, "safe": 0, "needs_help": 0 }),
        "{view}"
    );

    // WHEN the mayor answers « Je suis en sécurité » from the SMS link (a GET records nothing)
    let link = link(sms_text, "/s?t=");
    let page = page_text(app.get(&path_of(&link)).await).await;
    assert!(page.contains("Je suis en sécurité"), "{page}");
    assert_eq!(cab.read(&view_path).await["totals"]["safe"], 0);
    let answered = app
        .post_form("/s", &[("t", &token_of(&link)), ("answer", "safe")])
        .await;
    assert_eq!(answered.status(), 200);
    // …and the agent off duty « J'ai besoin d'aide »
    let agent_sms = app.sms_to("+33698765432");
    let agent_link = link_of(&agent_sms[0]);
    app.post_form(
        "/s",
        &[("t", &token_of(&agent_link)), ("answer", "needs_help")],
    )
    .await;

    // THEN the view shows them, the one who needs help first
    let view = cab.read(&view_path).await;
    assert_eq!(view["totals"]["safe"], 1, "{view}");
    assert_eq!(view["totals"]["needs_help"], 1, "{view}");
    let members = view["members"].as_array().unwrap();
    assert_eq!(members[0]["member"], agent.as_str());
    assert_eq!(members[0]["state"], "needs_help");
    assert_eq!(members[0]["mobile"], "06 98 76 54 32");
    let by_id = |who: &str| members.iter().find(|m| m["member"] == who).unwrap().clone();
    assert_eq!(by_id(&mayor)["state"], "safe");
    assert_eq!(by_id(&deputy)["state"], "reached");
    assert_eq!(by_id(&deputy)["messages"][0]["channel"], "voice");

    // AND the alert is in the history with who sent it, and is no campaign to residents
    let campaign = cab.read(&format!("/api/admin/campaigns/{id}")).await;
    assert_eq!(campaign["kind"], "cell_alert", "{campaign}");
    assert_eq!(campaign["author"]["id"], "cab");
    assert_eq!(campaign["status"], "sent");
    assert_eq!(campaign["events"][0]["actor"]["id"], "cab");
    let listed = cab.read(ALERTS).await;
    assert_eq!(listed[0]["campaign"], id.as_str());
    assert_eq!(listed[0]["sent_by"], "CAB");
    let stats = cab.read("/api/admin/stats").await;
    assert_eq!(stats["totals"]["campaigns_sent"], 0, "{stats}");
    assert_eq!(stats["totals"]["sms_sent"], 2, "{stats}");

    // Only the members on duty, when asked: the deputy and the mayor, not the agent
    let on_duty = cab
        .post_expect(
            ALERTS,
            &json!({ "text": "Point de situation à 6 h.", "on_duty_only": true }),
            201,
        )
        .await;
    assert_eq!(
        (&on_duty["members"], &on_duty["sms"], &on_duty["calls"]),
        (&json!(2), &json!(1), &json!(2))
    );

    // WHEN an administrator removes the agent
    admin
        .delete_expect(&format!("{MEMBERS}/{agent}"), 204)
        .await;
    // THEN their answer is gone with them, and their link no longer works
    let kept = telmail_core::ports::ReachStore::acknowledgements(&app.store(), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(app.get(&path_of(&agent_link)).await.status(), 400);
    let view = cab.read(&view_path).await;
    assert_eq!(view["totals"]["people"], 2, "{view}");
    assert_eq!(view["totals"]["needs_help"], 0);
    // Another campaign's id names no alert of the cell
    let draft = app.login("redac").await;
    let other = draft.draft(&email_campaign("Marché")).await;
    cab.get_expect(&format!("{ALERTS}/{other}"), 404).await;
}

#[tokio::test]
async fn the_members_not_reached_are_alerted_again_once_by_sms_and_call() {
    // GIVEN the mayor (a mobile) and the deputy (a landline) alerted
    let app = app().await;
    let admin = app.login("admin").await;
    let cab = app.login("cab").await;
    for member in [
        json!({ "name": "Marie Dupont", "function": "Maire", "mobile": "06 12 34 56 78" }),
        json!({ "name": "Jean Martin", "function": "Adjoint", "landline": "05 56 83 94 94" }),
    ] {
        admin.post_expect(MEMBERS, &member, 201).await;
    }
    let sent = cab
        .post_expect(ALERTS, &json!({ "text": "Activation du PCS." }), 201)
        .await;
    let id = sent["campaign"].as_str().unwrap().to_owned();
    let follow_up = format!("{ALERTS}/{id}/follow-up");
    // A follow-up while the messages are still queued finds nobody to alert again
    assert_eq!(cab.post_empty_expect(&follow_up, 200).await["members"], 0);
    app.drain().await;
    // …and the operator reports the mayor's SMS undelivered and her call unanswered, the
    // deputy's call answered
    let view_path = format!("{ALERTS}/{id}");
    let view = cab.read(&view_path).await;
    let mayor = view["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Marie Dupont")
        .unwrap()["member"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let deputy = view["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Jean Martin")
        .unwrap()["member"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let report = |subscriber, channel, outcome| telmail_core::domain::reach::ReachReport {
        key: telmail_core::domain::delivery::DeliveryKey {
            campaign: id.parse().unwrap(),
            subscriber,
            channel,
        },
        outcome,
        at: telmail_core::clock::Clock::now(&telmail_core::clock::SystemClock),
    };
    use telmail_core::domain::contact::Channel;
    use telmail_core::domain::reach::ReachOutcome;
    telmail_core::ports::ReachStore::record_reach(
        &app.store(),
        &[
            report(mayor, Channel::Sms, ReachOutcome::Failed),
            report(mayor, Channel::Voice, ReachOutcome::NoAnswer),
            report(deputy, Channel::Voice, ReachOutcome::Answered),
        ],
    )
    .await
    .unwrap();
    let view = cab.read(&view_path).await;
    assert_eq!(view["totals"]["not_reached"], 1, "{view}");

    // WHEN a writer tries to alert them again: only the cabinet or an administrator may
    app.login("redac")
        .await
        .post_empty_expect(&follow_up, 403)
        .await;
    // …and the cabinet does, twice
    let again = cab.post_empty_expect(&follow_up, 200).await;
    let twice = cab.post_empty_expect(&follow_up, 200).await;

    // THEN the mayor alone is texted and called again, once
    assert_eq!(
        again,
        json!({ "campaign": id, "members": 1, "sms": 1, "calls": 1 })
    );
    assert_eq!(
        (&twice["members"], &twice["sms"], &twice["calls"]),
        (&json!(0), &json!(0), &json!(0)),
        "a second click queues nothing twice: {twice}"
    );
    let view = cab.read(&view_path).await;
    assert_eq!(
        (&view["totals"]["pending"], &view["totals"]["not_reached"]),
        (&json!(1), &json!(0)),
        "{view}"
    );
    app.drain().await;
    assert_eq!(app.sms_to("+33612345678").len(), 2);
    let to_mayor = calls(&app)
        .iter()
        .filter(|c| c["to"] == "+33612345678")
        .count();
    let to_deputy = calls(&app)
        .iter()
        .filter(|c| c["to"] == "+33556839494")
        .count();
    assert_eq!((to_mayor, to_deputy), (2, 1));
    let view = cab.read(&view_path).await;
    assert_eq!(view["totals"]["reached"], 2, "{view}");
    let campaign = cab.read(&format!("/api/admin/campaigns/{id}")).await;
    assert_eq!(campaign["status"], "sent", "{campaign}");
    // An alert that is no alert of the cell cannot be followed up
    let other = app
        .login("redac")
        .await
        .draft(&email_campaign("Marché"))
        .await;
    cab.post_empty_expect(&format!("{ALERTS}/{other}/follow-up"), 404)
        .await;
}

#[tokio::test]
async fn an_empty_cell_cannot_be_alerted() {
    let app = app().await;
    let admin = app.login("admin").await;
    let refused = admin
        .post_expect(ALERTS, &json!({ "text": "PCS activé" }), 409)
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("aucun membre"),
        "{refused}"
    );
    assert!(app.sms().is_empty());
}

/// The reply link of an SMS of the outbox.
fn link_of(sms: &Value) -> String {
    link(sms["text"].as_str().unwrap(), "/s?t=")
}

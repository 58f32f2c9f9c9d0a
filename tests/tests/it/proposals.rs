//! The town's departments propose, the communication service selects (#17): over HTTP on a real
//! server, every role rule, take, merge, decline, the proposer told by email of each outcome and
//! of the sending, and the figures by department.

use crate::common::*;
use serde_json::{json, Value};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_department_member("culture", "Culture", "culture@mairie.example")
        .await;
    app.add_department_member("enfance", "Enfance", "enfance@mairie.example")
        .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("accueil", "accueil", None, None).await;
    app
}

fn proposal(title: &str, topic: &str, sms: bool) -> Value {
    json!({
        "topics": [topic],
        "title": title,
        "text": "Rendez-vous place Thiers, samedi 12 décembre de 10 h à 19 h.",
        "matters_on": "2099-12-12",
        "wants_sms": sms,
        "contact": "Claire, service culture, 05 57 00 00 00"
    })
}

async fn propose(staff: &StaffClient<'_>, body: &Value) -> Value {
    staff.post_expect("/api/admin/proposals", body, 201).await
}

#[tokio::test]
async fn a_department_proposes_the_communication_service_takes_it_and_the_proposer_is_told_it_was_sent(
) {
    let app = app().await;
    let culture = app.login("culture").await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    let resident = json!({ "email": "habitant@exemple.fr", "paper_form_reference": "F-1",
                           "subscriptions": [{ "topic": "culture-animations", "channels": ["email"] }] });
    redac
        .post_expect("/api/admin/subscribers", &resident, 201)
        .await;

    let p = propose(
        &culture,
        &proposal("Marché de Noël", "culture-animations", true),
    )
    .await;
    assert_eq!(
        (p["status"].clone(), p["department"].clone()),
        (json!("new"), json!("Culture"))
    );
    let id = p["id"].as_str().unwrap().to_owned();
    // Its author corrects it while it is new.
    let mut corrected = proposal("Marché de Noël 2099", "culture-animations", true);
    corrected["text"] = json!("Place Thiers, samedi 12 décembre.");
    let edited = culture
        .put_expect(&format!("/api/admin/proposals/{id}"), &corrected, 200)
        .await;
    assert_eq!(edited["version"], 2);

    // The communication service sees it first in its inbox, and takes it.
    let inbox = redac.read("/api/admin/proposals").await;
    assert_eq!(inbox[0]["id"], id.as_str());
    let campaign = redac
        .post_expect("/api/admin/proposals/take", &json!({ "ids": [id] }), 201)
        .await;
    assert_eq!(campaign["status"], "draft");
    assert_eq!(campaign["title"], "Marché de Noël 2099");
    assert_eq!(campaign["topics"], json!(["culture-animations"]));
    assert_eq!(campaign["sms"]["text"], "Marché de Noël 2099");
    let told = app.emails_to("culture@mairie.example");
    assert_eq!(told.len(), 1);
    assert!(
        told[0].subject.contains("a été retenue"),
        "{}",
        told[0].subject
    );
    // Taken, it no longer changes.
    culture
        .post_empty_expect(&format!("/api/admin/proposals/{id}/withdraw"), 409)
        .await;

    // Before it leaves, what will be sent can still change: nothing to read yet.
    let sent_url = format!("/api/admin/proposals/{id}/sent");
    let early = culture.get_expect(&sent_url, 409).await;
    assert!(early["message"]
        .as_str()
        .unwrap()
        .contains("pas encore partie"));

    // The cabinet approves; it goes out; the proposer is told, with the figures.
    let cid = campaign_id(&campaign);
    submit_and_approve(&redac, &cab, cid).await;
    app.drain().await;
    let mine = culture.read("/api/admin/proposals/mine").await;
    assert_eq!(mine[0]["status"], "sent", "{mine}");
    assert_eq!(mine[0]["sent"], json!({ "emails": 1, "sms": 0 }));
    let told = app.emails_to("culture@mairie.example");
    assert_eq!(told.len(), 2);
    assert!(told[1].subject.contains("a été envoyée aux abonnés"));
    assert!(
        told[1].text.contains("1 courriel(s) et 0 SMS"),
        "{}",
        told[1].text
    );
    // The department reads the SMS and the email as residents received them; another cannot.
    let sent = culture.read(&sent_url).await;
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["campaign"], cid.to_string());
    assert_eq!(sent["sms_text"], campaign["sms"]["text"]);
    assert!(
        sent["email_html"]
            .as_str()
            .unwrap()
            .contains("Place Thiers, samedi 12 décembre."),
        "{sent}"
    );
    let enfance = app.login("enfance").await;
    enfance.get_expect(&sent_url, 404).await;
    // …and the campaigns' list tells a department member where to look, in French.
    let refused = culture.get_expect("/api/admin/campaigns", 403).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("« Rédaction »"),
        "{refused}"
    );
    // The schedule finds nothing more to tell.
    assert_eq!(
        app.services()
            .use_cases
            .proposals
            .follow_up()
            .await
            .unwrap(),
        0
    );

    let stats = redac.read("/api/admin/proposals/stats").await;
    assert_eq!(stats[0]["department"], "Culture");
    assert_eq!(
        (stats[0]["received"].clone(), stats[0]["sent"].clone()),
        (json!(1), json!(1))
    );
    assert!(stats[0]["days_to_send"].as_f64().unwrap() >= 0.0);
    app.stop().await;
}

#[tokio::test]
async fn several_proposals_merge_into_one_campaign_and_a_decline_tells_its_reason() {
    let app = app().await;
    let culture = app.login("culture").await;
    let enfance = app.login("enfance").await;
    let redac = app.login("redac").await;
    let a = propose(
        &culture,
        &proposal("Concert du Nouvel An", "culture-animations", false),
    )
    .await;
    let b = propose(
        &enfance,
        &proposal("Inscriptions au centre de loisirs", "infos-pratiques", true),
    )
    .await;
    let c = propose(
        &enfance,
        &proposal("Fermeture de la crèche", "infos-pratiques", false),
    )
    .await;

    let merged = redac
        .post_expect(
            "/api/admin/proposals/take",
            &json!({ "ids": [a["id"], b["id"]] }),
            201,
        )
        .await;
    assert_eq!(
        merged["topics"],
        json!(["culture-animations", "infos-pratiques"])
    );
    let body = merged["email"]["body_markdown"].as_str().unwrap();
    assert!(
        body.contains("## Concert du Nouvel An") && body.contains("## Inscriptions"),
        "{body}"
    );
    // Taken already: a second take is refused, nothing else is created.
    redac
        .post_expect(
            "/api/admin/proposals/take",
            &json!({ "ids": [a["id"]] }),
            409,
        )
        .await;

    let cid = c["id"].as_str().unwrap();
    let no_reason = redac
        .post_expect(
            &format!("/api/admin/proposals/{cid}/decline"),
            &json!({ "reason": " " }),
            422,
        )
        .await;
    assert!(no_reason["fields"]["reason"].is_string(), "{no_reason}");
    let declined = redac
        .post_expect(
            &format!("/api/admin/proposals/{cid}/decline"),
            &json!({ "reason": "Déjà annoncé sur le site et au panneau lumineux." }),
            200,
        )
        .await;
    assert_eq!(declined["status"], "declined");
    let told = app.emails_to("enfance@mairie.example");
    assert_eq!(told.len(), 2, "taken, then declined");
    assert!(
        told[1].text.contains("Déjà annoncé sur le site"),
        "{}",
        told[1].text
    );

    let stats = redac.read("/api/admin/proposals/stats").await;
    let enfance_stats = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["department"] == "Enfance")
        .unwrap();
    assert_eq!(
        (
            enfance_stats["received"].clone(),
            enfance_stats["taken"].clone(),
            enfance_stats["declined"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    app.stop().await;
}

#[tokio::test]
async fn each_role_keeps_to_its_door() {
    let app = app().await;
    let culture = app.login("culture").await;
    let enfance = app.login("enfance").await;
    let redac = app.login("redac").await;
    let accueil = app.login("accueil").await;
    let p = propose(
        &culture,
        &proposal("Marché de Noël", "culture-animations", false),
    )
    .await;
    let id = p["id"].as_str().unwrap();

    // Another department neither sees nor changes it, and lists only its own.
    enfance
        .get_expect(&format!("/api/admin/proposals/{id}"), 404)
        .await;
    enfance
        .post_empty_expect(&format!("/api/admin/proposals/{id}/withdraw"), 404)
        .await;
    let theirs = enfance.read("/api/admin/proposals/mine").await;
    assert_eq!(theirs, json!([]));
    // A department member reads no inbox, writes no campaign, takes nothing.
    culture.get_expect("/api/admin/proposals", 403).await;
    let campaign = json!({ "title": "x", "topics": ["culture-animations"], "sms": { "text": "x" }, "email": null, "urgent": false, "send_at": null });
    culture
        .post_expect("/api/admin/campaigns", &campaign, 403)
        .await;
    culture
        .post_expect("/api/admin/proposals/take", &json!({ "ids": [id] }), 403)
        .await;
    // The communication service proposes nothing, the front desk neither, nor reads the inbox.
    redac
        .post_expect(
            "/api/admin/proposals",
            &proposal("x", "culture-animations", false),
            403,
        )
        .await;
    accueil.get_expect("/api/admin/proposals", 403).await;
    accueil.get_expect("/api/admin/proposals/stats", 403).await;

    // A department member whose account names no department is told what to ask for.
    app.add_staff("sansservice", "service", None, None).await;
    let nameless = app.login("sansservice").await;
    let refused = nameless
        .post_expect(
            "/api/admin/proposals",
            &proposal("x", "culture-animations", false),
            403,
        )
        .await;
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("n'indique pas votre service"));

    // Bad input is named field by field, in French.
    let bad = culture
        .post_expect(
            "/api/admin/proposals",
            &json!({ "topics": ["inconnu"], "matters_on": "hier" }),
            422,
        )
        .await;
    for field in ["topics", "title", "text", "contact", "matters_on"] {
        assert!(bad["fields"][field].is_string(), "{field}: {bad}");
    }
    // Withdrawn by its author, it stays withdrawn.
    let withdrawn = culture
        .post_empty_expect(&format!("/api/admin/proposals/{id}/withdraw"), 200)
        .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    redac
        .post_expect("/api/admin/proposals/take", &json!({ "ids": [id] }), 409)
        .await;
    app.stop().await;
}

//! The back office under `/admin`: French pages whose scripts call the staff API as the
//! signed-in person (a local session, or a Cognito ID token on AWS). The pages hold no data of
//! their own, so the function serving the resident pages serves them too; their scripts and
//! styles are embedded in the binary: nothing is loaded from elsewhere.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment};
use serde::Serialize;
use telmail_core::domain::campaign::{CampaignId, CampaignStatus};
use telmail_core::domain::staff::Role;
use telmail_core::domain::topic::EMERGENCY_TOPICS;
use telmail_core::domain::weather::{Colour, Phenomenon};

/// How staff sign in to the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum StaffSignIn {
    /// Local accounts: the session cookie and its CSRF token.
    Session,
    /// A Cognito user pool's app client without secret, signed in from the page.
    Cognito {
        /// The Cognito Identity Provider endpoint (`https://cognito-idp.<region>.amazonaws.com/`).
        endpoint: String,
        /// The app client id.
        client_id: String,
    },
}

/// The back office's settings.
#[derive(Debug, Clone)]
pub struct BackOffice {
    pub sign_in: StaffSignIn,
    /// Whether the outbox viewer is offered (the embedded default writes messages to files).
    pub outbox: bool,
    /// Where the pages send big imports, when not to this site (the S3 bucket on AWS).
    pub file_origin: Option<String>,
}

impl Default for BackOffice {
    fn default() -> Self {
        Self {
            sign_in: StaffSignIn::Session,
            outbox: false,
            file_origin: None,
        }
    }
}

/// One entry of the menu: its page, address, label and the roles that see it.
#[derive(Debug, Serialize)]
struct MenuItem {
    page: &'static str,
    href: &'static str,
    label: &'static str,
    roles: &'static str,
}

const MENU: &[MenuItem] = &[
    MenuItem {
        page: "home",
        href: "/admin",
        label: "Tableau de bord",
        roles: "redaction cabinet admin",
    },
    MenuItem {
        page: "composer",
        href: "/admin/rediger",
        label: "Rédiger",
        roles: "redaction",
    },
    MenuItem {
        page: "approvals",
        href: "/admin/approbations",
        label: "Approbations",
        roles: "cabinet",
    },
    MenuItem {
        page: "campaigns",
        href: "/admin/campagnes",
        label: "Campagnes",
        roles: "redaction cabinet admin",
    },
    MenuItem {
        page: "proposals",
        href: "/admin/propositions",
        label: "Propositions",
        roles: "service redaction admin cabinet",
    },
    MenuItem {
        page: "subscribers",
        href: "/admin/abonnes",
        label: "Abonnés",
        roles: "redaction admin accueil",
    },
    MenuItem {
        page: "topics",
        href: "/admin/thematiques",
        label: "Thèmes",
        roles: "admin redaction",
    },
    MenuItem {
        page: "suppressions",
        href: "/admin/suppressions",
        label: "Adresses bloquées",
        roles: "redaction admin",
    },
    MenuItem {
        page: "weather",
        href: "/admin/meteo",
        label: "Météo",
        roles: "redaction cabinet admin",
    },
    MenuItem {
        page: "cell",
        href: "/admin/cellule",
        label: "Cellule de crise",
        roles: "cabinet admin",
    },
    MenuItem {
        page: "account",
        href: "/admin/compte",
        label: "Mon compte",
        roles: "redaction cabinet admin accueil service",
    },
    MenuItem {
        page: "outbox",
        href: "/admin/boite-d-envoi",
        label: "Boîte d'envoi",
        roles: "admin",
    },
];

/// Each page: address, template, French title.
const PAGES: &[(&str, &str, &str)] = &[
    ("/admin", "home", "Espace des agents"),
    ("/admin/rediger", "composer", "Rédiger une campagne"),
    ("/admin/approbations", "approvals", "Campagnes à approuver"),
    ("/admin/campagnes", "campaigns", "Campagnes"),
    (
        "/admin/propositions",
        "proposals",
        "Propositions des services",
    ),
    ("/admin/abonnes", "subscribers", "Fichier des abonnés"),
    ("/admin/thematiques", "topics", "Thèmes"),
    ("/admin/suppressions", "suppressions", "Adresses bloquées"),
    ("/admin/meteo", "weather", "Alertes météo"),
    ("/admin/boite-d-envoi", "outbox", "Boîte d'envoi (local)"),
    ("/admin/cellule", "cell", "Cellule de crise"),
    ("/admin/compte", "account", "Mon compte"),
];

const TEMPLATES: &[(&str, &str)] = &[
    (
        "admin/base.html",
        include_str!("../templates/admin/base.html"),
    ),
    (
        "legal_links.html",
        include_str!("../templates/legal_links.html"),
    ),
    (
        "admin/home.html",
        include_str!("../templates/admin/home.html"),
    ),
    (
        "admin/composer.html",
        include_str!("../templates/admin/composer.html"),
    ),
    (
        "admin/approvals.html",
        include_str!("../templates/admin/approvals.html"),
    ),
    (
        "admin/campaigns.html",
        include_str!("../templates/admin/campaigns.html"),
    ),
    (
        "admin/campaign.html",
        include_str!("../templates/admin/campaign.html"),
    ),
    (
        "admin/proposals.html",
        include_str!("../templates/admin/proposals.html"),
    ),
    (
        "admin/subscribers.html",
        include_str!("../templates/admin/subscribers.html"),
    ),
    (
        "admin/topics.html",
        include_str!("../templates/admin/topics.html"),
    ),
    (
        "admin/suppressions.html",
        include_str!("../templates/admin/suppressions.html"),
    ),
    (
        "admin/weather.html",
        include_str!("../templates/admin/weather.html"),
    ),
    (
        "admin/outbox.html",
        include_str!("../templates/admin/outbox.html"),
    ),
    (
        "admin/crisis.html",
        include_str!("../templates/admin/crisis.html"),
    ),
    (
        "admin/cell.html",
        include_str!("../templates/admin/cell.html"),
    ),
    (
        "admin/cell_alert.html",
        include_str!("../templates/admin/cell_alert.html"),
    ),
    (
        "admin/account.html",
        include_str!("../templates/admin/account.html"),
    ),
];

/// The scripts, by file name under `/static/admin/`.
const SCRIPTS: &[(&str, &str)] = &[
    ("api.js", include_str!("../static/admin/api.js")),
    ("ui.js", include_str!("../static/admin/ui.js")),
    ("charts.js", include_str!("../static/admin/charts.js")),
    ("cognito.js", include_str!("../static/admin/cognito.js")),
    ("home.js", include_str!("../static/admin/home.js")),
    ("composer.js", include_str!("../static/admin/composer.js")),
    ("approvals.js", include_str!("../static/admin/approvals.js")),
    ("campaigns.js", include_str!("../static/admin/campaigns.js")),
    ("campaign.js", include_str!("../static/admin/campaign.js")),
    (
        "subscribers.js",
        include_str!("../static/admin/subscribers.js"),
    ),
    ("topics.js", include_str!("../static/admin/topics.js")),
    (
        "suppressions.js",
        include_str!("../static/admin/suppressions.js"),
    ),
    ("weather.js", include_str!("../static/admin/weather.js")),
    ("outbox.js", include_str!("../static/admin/outbox.js")),
    ("files.js", include_str!("../static/admin/files.js")),
    ("proposals.js", include_str!("../static/admin/proposals.js")),
    ("typos.js", include_str!("../static/admin/typos.js")),
    ("crisis.js", include_str!("../static/admin/crisis.js")),
    ("account.js", include_str!("../static/admin/account.js")),
    ("cell.js", include_str!("../static/admin/cell.js")),
    (
        "cell_alert.js",
        include_str!("../static/admin/cell_alert.js"),
    ),
];

const STYLESHEET: &str = include_str!("../static/admin.css");

/// The French labels the pages' scripts show for the API's wire names, from the one place
/// each is written (the domain types): `{ "campaign_status": { "draft": "brouillon", … }, … }`.
fn labels() -> serde_json::Value {
    fn names<T: Serialize + Copy>(
        all: impl IntoIterator<Item = T>,
        label: fn(T) -> &'static str,
    ) -> serde_json::Map<String, serde_json::Value> {
        all.into_iter()
            .filter_map(|v| match serde_json::to_value(v) {
                Ok(serde_json::Value::String(wire)) => Some((wire, label(v).into())),
                _ => None,
            })
            .collect()
    }
    serde_json::json!({
        "campaign_status": names(CampaignStatus::ALL, CampaignStatus::label),
        "role": names(Role::ALL, Role::label),
        "phenomenon": names(Phenomenon::ALL, Phenomenon::label),
        "colour": names((1..=4).filter_map(Colour::from_id), Colour::label),
    })
}

/// JSON to put inside a `<script>` element: nothing in it can close the element.
fn json_for_script(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

struct Shell {
    env: Environment<'static>,
    /// [`labels`], ready for the pages.
    labels: String,
    town: String,
    /// The accessibility status the footer states.
    accessibility: String,
    config: BackOffice,
    csp: HeaderValue,
}

impl Shell {
    fn page(&self, page: &str, title: &str, extra: minijinja::Value) -> Response {
        let menu: Vec<&MenuItem> = MENU
            .iter()
            .filter(|m| m.page != "outbox" || self.config.outbox)
            .collect();
        let template = format!("admin/{page}.html");
        let html = self.env.get_template(&template).and_then(|t| {
            t.render(context! {
                town => self.town,
                accessibility => self.accessibility,
                title => title,
                page => page,
                menu => menu,
                auth => self.config.sign_in,
                labels => minijinja::Value::from_safe_string(self.labels.clone()),
                // The topics forms offer voice calls on (the subscriber file's paper form).
                emergency_topics => EMERGENCY_TOPICS,
                ..extra
            })
        });
        match html {
            Ok(html) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (header::CONTENT_SECURITY_POLICY, self.csp.clone()),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                html,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(page, error = %e, "back-office page rendering failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne.").into_response()
            }
        }
    }
}

/// The pages' policy: scripts and styles of this site only (inline styles for the email
/// previews, shown in sandboxed frames), calls to this site, to Cognito when it signs in, and to
/// the bucket big imports are sent to.
fn content_security_policy(config: &BackOffice) -> HeaderValue {
    let mut connect = match &config.sign_in {
        StaffSignIn::Session => "'self'".to_owned(),
        StaffSignIn::Cognito { endpoint, .. } => format!("'self' {}", origin_of(endpoint)),
    };
    if let Some(files) = &config.file_origin {
        connect = format!("{connect} {}", origin_of(files));
    }
    HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src {connect}; frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// `https://host[:port]` of a URL (the CSP names origins).
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

async fn script(Path(name): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(n, _)| *n == name) {
        Some((_, source)) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *source,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLESHEET,
    )
}

/// A page about one campaign (`page`, titled `title`); an address naming no campaign is the
/// list of campaigns, as a 404.
fn campaign_page(
    shell: &Shell,
    headers: &HeaderMap,
    id: &str,
    page: &str,
    title: &str,
) -> Response {
    match CampaignId::from_str(id) {
        Ok(id) => shell.page(
            page,
            title,
            context! { id => id.to_string(), signed_out => signed_out(headers) },
        ),
        Err(_) => {
            let mut list = shell.page("campaigns", "Campagnes", context! {});
            *list.status_mut() = StatusCode::NOT_FOUND;
            list
        }
    }
}

/// Whether the request carries no session cookie at all: the page then knows, without asking
/// the API (whose 401 every browser logs as an error), that nobody is signed in.
fn signed_out(headers: &HeaderMap) -> bool {
    crate::admin::auth::session_token(headers).is_none()
}

/// Every address the back office serves (pages and assets), for the route checks.
pub fn route_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = PAGES.iter().map(|(path, _, _)| *path).collect();
    paths.extend([
        "/admin/campagnes/{id}",
        "/admin/campagnes/{id}/crise",
        "/admin/cellule/alertes/{id}",
        "/static/admin.css",
        "/static/admin/{name}",
    ]);
    paths
}

/// The back office's pages and assets, for a town.
pub fn routes(town: &str, accessibility: &str, config: BackOffice) -> Router {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("embedded back-office templates compile");
    }
    let shell = Arc::new(Shell {
        env,
        labels: json_for_script(&labels()),
        town: town.to_owned(),
        accessibility: accessibility.to_owned(),
        csp: content_security_policy(&config),
        config,
    });
    let mut router =
        Router::new()
            .route("/static/admin.css", get(stylesheet))
            .route("/static/admin/{name}", get(script))
            .route(
                "/admin/campagnes/{id}",
                get(
                    |State(shell): State<Arc<Shell>>,
                     headers: HeaderMap,
                     Path(id): Path<String>| async move {
                        campaign_page(&shell, &headers, &id, "campaign", "Campagne")
                    },
                ),
            )
            .route(
                "/admin/campagnes/{id}/crise",
                get(
                    |State(shell): State<Arc<Shell>>,
                     headers: HeaderMap,
                     Path(id): Path<String>| async move {
                        campaign_page(&shell, &headers, &id, "crisis", "Vue de crise")
                    },
                ),
            )
            .route(
                "/admin/cellule/alertes/{id}",
                get(
                    |State(shell): State<Arc<Shell>>,
                     headers: HeaderMap,
                     Path(id): Path<String>| async move {
                        campaign_page(
                            &shell,
                            &headers,
                            &id,
                            "cell_alert",
                            "Alerte de la cellule de crise",
                        )
                    },
                ),
            );
    for (path, page, title) in PAGES {
        if *page == "outbox" && !shell.config.outbox {
            continue;
        }
        router = router.route(
            path,
            get(
                move |State(shell): State<Arc<Shell>>, headers: HeaderMap| async move {
                    shell.page(page, title, context! { signed_out => signed_out(&headers) })
                },
            ),
        );
    }
    router.with_state(shell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_get_each_label_from_its_domain_type() {
        let labels = labels();
        let sizes = [
            ("campaign_status", CampaignStatus::ALL.len()),
            ("role", Role::ALL.len()),
            ("phenomenon", Phenomenon::ALL.len()),
            ("colour", 4),
        ];
        for (table, size) in sizes {
            assert_eq!(labels[table].as_object().unwrap().len(), size, "{table}");
        }
        assert_eq!(labels["campaign_status"]["submitted"], "soumise au cabinet");
        assert_eq!(labels["role"]["cabinet"], "Cabinet du maire");
        assert_eq!(labels["phenomenon"]["rain_flood"], "pluie-inondation");
        assert_eq!(labels["colour"]["yellow"], "jaune");
        // Nothing in the block can end the script element, and it reads back the same.
        let hostile = serde_json::json!({ "x": "</script><b>&" });
        let text = json_for_script(&hostile);
        assert!(!text.contains(['<', '>', '&']), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            hostile
        );
    }

    #[test]
    fn every_page_renders_for_each_way_of_signing_in() {
        for sign_in in [
            StaffSignIn::Session,
            StaffSignIn::Cognito {
                endpoint: "https://cognito-idp.eu-west-3.amazonaws.com/".into(),
                client_id: "client".into(),
            },
        ] {
            let mut env = Environment::new();
            for (name, source) in TEMPLATES {
                env.add_template(name, source).unwrap();
            }
            let config = BackOffice {
                sign_in,
                outbox: true,
                file_origin: Some("https://files.s3.eu-west-3.amazonaws.com".into()),
            };
            let shell = Shell {
                env,
                labels: json_for_script(&labels()),
                town: "Arcachon".into(),
                accessibility: "partiellement conforme".into(),
                csp: content_security_policy(&config),
                config,
            };
            for (_, page, title) in PAGES.iter().chain([
                &("", "campaign", "Campagne"),
                &("", "crisis", "Vue de crise"),
                &("", "cell_alert", "Alerte de la cellule de crise"),
            ]) {
                let resp = shell.page(page, title, context! { id => "x" });
                assert_eq!(resp.status(), StatusCode::OK, "{page}");
            }
        }
    }
}

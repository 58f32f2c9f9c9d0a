// Télmail back office, `/admin/meteo`: the Météo-France relay — the feed's last state, the rules,
// the alerts relayed with their source, and the texts staff may edit (each SMS one segment).

import { api } from "./api.js";
import { $, act, el, flash, holds, start, status, when } from "./ui.js";

const me = await start();
const FIELDS = ["alert_sms", "alert_subject", "alert_body", "end_sms", "end_subject", "end_body"];

function facts(box, rows) {
  box.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

async function overview() {
  const w = await api("GET", "/api/admin/weather");
  const f = w.feed;
  facts($("#feed"), [
    ["Dernier relevé", f ? when(f.checked_at) : "jamais : le flux n'est pas configuré ou n'a pas encore été lu"],
    ["Résultat", f ? (f.error ? `échec : ${f.error} (${f.failures_in_a_row} de suite)` : "lu sans erreur") : "—"],
    ["Dernier relevé réussi", f?.last_success ? when(f.last_success) : "—"],
    ["Bulletin du", f?.product_time ? when(f.product_time) : "—"],
    ["Alertes en cours", w.in_force.length ? w.in_force.map((a) => `${a.source.colour} ${a.source.phenomenon} (domaine ${a.source.domain}) jusqu'au ${when(a.source.ends)}`).join(" ; ") : "aucune"],
  ]);
  facts($("#policy"), [
    ["Domaines lus", w.domains.join(", ")],
    ["Phénomènes relayés", w.watched.join(", ")],
    ["Couleur minimale relayée", w.threshold],
    ["Envoyée sans attendre le cabinet", w.send_at_once_from ? `à partir de ${w.send_at_once_from}` : "jamais (tout passe par le cabinet)"],
    [
      "Limitée à des zones",
      Object.keys(w.zones).length
        ? Object.entries(w.zones).map(([p, z]) => `${p} : ${z.join(", ")}`).join(" ; ") + " (et les abonnés sans zone)"
        : "non : chaque alerte va à tous les abonnés",
    ],
  ]);
}

async function alerts() {
  const all = await api("GET", "/api/admin/campaigns?limit=500");
  const relayed = all.filter((c) => c.kind !== "standard");
  $("#alerts").replaceChildren(
    relayed.length
      ? el(
          "table",
          { class: "data" },
          el("caption", { class: "skip" }, "Alertes relayées"),
          el("thead", {}, el("tr", {}, ...["Alerte", "Statut", "Bulletin Météo-France", "Créée le"].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            ...relayed.map((c) =>
              el(
                "tr",
                {},
                el("td", {}, el("a", { href: `/admin/campagnes/${c.id}` }, c.title)),
                el("td", {}, status(c.status)),
                el("td", {}, c.source ? `${when(c.source.product_time)}, domaine ${c.source.domain}` : "—"),
                el("td", {}, when(c.created_at)),
              ),
            ),
          ),
        )
      : el("p", {}, "Aucune alerte relayée pour l'instant."),
  );
}

async function templates() {
  const view = await api("GET", "/api/admin/weather/templates");
  const form = $("#templates");
  for (const f of FIELDS) form[f].value = view.templates[f];
  form.end_notice.checked = view.templates.end_notice;
  $("#variables").textContent = `Variables utilisables : ${view.variables.map((v) => `{{ ${v} }}`).join(", ")}. Seules les conditions {% if %} … {% else %} … {% endif %} et les filtres upper, lower, capitalize, title et trim sont permis. Si un texte échoue pour une alerte, le texte par défaut est envoyé et l'historique de la campagne le signale.${view.defaults ? " Ce sont les textes par défaut." : ""}`;
  if (!holds(me, "redaction", "admin")) {
    for (const input of form.elements) input.disabled = true;
  }
}

$("#templates").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act($("#save-templates"), form, async () => {
    const body = Object.fromEntries(FIELDS.map((f) => [f, form[f].value]));
    body.end_notice = form.end_notice.checked;
    await api("PUT", "/api/admin/weather/templates", body);
    flash("Textes enregistrés : chaque SMS tient en un seul SMS facturé.");
  });
});

await Promise.all([overview(), alerts(), templates()]).catch((err) => flash(err.message, "error"));

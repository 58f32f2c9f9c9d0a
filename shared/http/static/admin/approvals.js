// Télmail back office, `/admin/approbations`: the campaigns waiting for the mayor's office,
// weather alerts first, each with its SMS, email subject, audience, cost and author; the
// decision is taken on the campaign's page, on the version shown there.

import { api } from "./api.js";
import { $, count, el, euros, flash, holds, outlook, start, when } from "./ui.js";

const me = await start();
const queue = $("#queue");

async function card(c) {
  const e = await api("POST", `/api/admin/campaigns/${c.id}/estimate`);
  const submitted = [...(c.events || [])].reverse().find((ev) => ev.action === "submitted");
  return el(
    "article",
    { class: `card${c.kind === "weather_alert" ? " weather-first" : ""}` },
    el("h2", {}, el("a", { href: `/admin/campagnes/${c.id}` }, c.title)),
    c.kind !== "standard" ? el("p", {}, el("strong", {}, c.kind === "weather_alert" ? "Alerte météo : approbation rapide demandée." : "Fin d'alerte météo.")) : "",
    el("p", { class: "muted" }, `Par ${c.author.name}${submitted ? `, soumise le ${when(submitted.at)}` : ""}${c.urgent ? " — urgent" : ""}`),
    c.sms ? el("p", { class: "sms-preview" }, c.sms.text) : "",
    c.email ? el("p", {}, `E-mail : « ${c.email.subject} »`) : "",
    el("p", {}, `${count(e.email_recipients)} e-mails, ${count(e.sms_recipients)} SMS — ${euros(e.total_cost)} HT`),
    outlook(e.outlook),
    el("a", { class: "button", href: `/admin/campagnes/${c.id}` }, "Examiner et décider"),
  );
}

async function show() {
  const list = await api("GET", "/api/admin/campaigns?status=submitted&limit=100");
  list.sort((a, b) => (b.kind === "weather_alert") - (a.kind === "weather_alert") || a.updated_at.localeCompare(b.updated_at));
  if (!list.length) {
    queue.replaceChildren(el("p", {}, "Aucune campagne n'attend votre décision."));
    return;
  }
  const full = await Promise.all(list.map((c) => api("GET", `/api/admin/campaigns/${c.id}`)));
  queue.replaceChildren(...(await Promise.all(full.map(card))));
}

if (!holds(me, "cabinet")) {
  queue.replaceChildren(el("p", { class: "alert info" }, "Les décisions reviennent au cabinet du maire (rôle « cabinet ») : voici ce qui l'attend."));
}
await show().catch((err) => flash(err.message, "error"));

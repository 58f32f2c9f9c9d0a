// Télmail back office, `/admin`: the sign-in form when signed out, else the dashboard.

import { api, remember, whoami } from "./api.js";
import { bars } from "./charts.js";
import { $, act, CHANNEL_WORDS, count, el, euros, flash, holds, monthName, showPerson, when } from "./ui.js";

const mode = document.body.dataset.auth;

function destination() {
  const back = new URLSearchParams(location.search).get("retour");
  // Only a path of this site.
  return back && back.startsWith("/admin") && !back.startsWith("//") ? back : "/admin";
}

let pending = null; // a Cognito challenge waiting for its answer

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  await act(button, form, async () => {
    const username = form.username.value.trim();
    const password = form.password.value;
    if (mode === "session") {
      remember(await api("POST", "/api/admin/login", { username, password }));
      location.assign(destination());
      return;
    }
    const cognito = await import("./cognito.js");
    const outcome = pending
      ? await cognito.answer(pending, form.answer.value.trim())
      : await cognito.signIn(username, password);
    if (outcome.challenge) {
      pending = outcome.challenge;
      $("#answer-label").textContent = outcome.challenge.label;
      const setup = outcome.challenge.setup;
      $("#mfa-setup").hidden = !setup;
      if (setup) {
        $("#mfa-key").textContent = setup.key;
        $("#mfa-link").href = setup.uri;
      }
      form.answer.type = outcome.challenge.secret ? "password" : "text";
      form.answer.value = "";
      $("#challenge").hidden = false;
      form.answer.focus();
      return;
    }
    location.assign(destination());
  });
}

function figure(label, value) {
  return el("div", { class: "card" }, el("p", { class: "figure" }, value), el("p", { class: "figure-label" }, label));
}

async function figures(from, to) {
  const q = new URLSearchParams();
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  const r = await api("GET", `/api/admin/stats?${q}`);
  const t = r.totals;
  $("#from").value = r.from;
  $("#to").value = r.to;
  $("#figures").replaceChildren(
    figure("campagnes envoyées", count(t.campaigns_sent)),
    figure("alertes météo relayées", count(t.weather_alerts_sent)),
    figure(`SMS envoyés (${count(t.sms_segments)} facturés)`, count(t.sms_sent)),
    figure("e-mails envoyés", count(t.emails_sent)),
    figure("coût (€ HT)", euros(t.cost)),
    figure("inscriptions", count(t.signups)),
    figure("départs", count(t.departures)),
    // Operator receipts exist on AWS only (SNS delivery status logs): shown once there are some.
    ...(t.sms_delivered + t.sms_undelivered > 0
      ? [
          figure("SMS remis aux téléphones", count(t.sms_delivered)),
          figure("SMS non remis", count(t.sms_undelivered)),
          figure("facturé par l'opérateur (USD)", t.sms_billed_usd.toLocaleString("fr-FR", { minimumFractionDigits: 2, maximumFractionDigits: 2 })),
        ]
      : []),
  );
  $("#origins").replaceChildren(
    r.signups_by_origin.length
      ? el(
          "table",
          { class: "data" },
          el("caption", {}, "Inscriptions de la période par origine"),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Origine"), el("th", { scope: "col" }, "Inscriptions"))),
          el("tbody", {}, ...r.signups_by_origin.map((o) => el("tr", {}, el("td", {}, o.label), el("td", {}, count(o.signups))))),
        )
      : "",
  );
  const months = r.months.map((m) => [monthName(m.month), m.emails_sent, m.sms_sent]);
  $("#months-chart").replaceChildren(
    bars("Messages envoyés par mois", months, ["e-mails", "SMS"]),
    bars("Coût par mois (€ HT)", r.months.map((m) => [monthName(m.month), m.cost]), ["coût € HT"], euros),
  );
  const channels = ["email", "sms", "voice"];
  const byTopic = new Map();
  for (const s of r.subscribers) {
    const row = byTopic.get(s.topic) || [s.name, 0, 0, 0];
    row[1 + channels.indexOf(s.channel)] += s.subscribers;
    byTopic.set(s.topic, row);
  }
  $("#topics-chart").replaceChildren(
    bars("Abonnés par thème et par canal", [...byTopic.values()], channels.map((c) => CHANNEL_WORDS[c])),
    audienceOverTime(r.audience),
  );
  $("#zones-table").replaceChildren(byZone(r.zones));
  $("#growth-chart").replaceChildren(
    bars("Inscriptions et départs par mois", r.months.map((m) => [monthName(m.month), m.signups, m.departures]), ["inscriptions", "départs"]),
  );
}

/** Active subscribers per zone, then those who named none. */
function byZone(zones) {
  return el(
    "table",
    { class: "data" },
    el("caption", {}, "Abonnés actifs par zone (un abonné qui a nommé deux zones compte dans les deux)"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Zone"), el("th", { scope: "col", class: "num" }, "Abonnés"))),
    el("tbody", {}, ...zones.map((z) => el("tr", {}, el("th", { scope: "row" }, z.name), el("td", { class: "num" }, count(z.subscribers))))),
  );
}

/** Subscribers per topic and channel, month by month: one row per topic and channel. */
function audienceOverTime(audience) {
  if (audience.length < 2) return "";
  const rows = new Map();
  for (const m of audience) {
    for (const t of m.topics) {
      const key = `${t.name} (${CHANNEL_WORDS[t.channel] || t.channel})`;
      if (!rows.has(key)) rows.set(key, new Map());
      rows.get(key).set(m.month, t.subscribers);
    }
  }
  return el(
    "table",
    { class: "data" },
    el("caption", {}, "Abonnés au fil des mois"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Thème (canal)"), ...audience.map((m) => el("th", { scope: "col", class: "num" }, monthName(m.month))))),
    el(
      "tbody",
      {},
      ...[...rows].map(([key, byMonth]) =>
        el("tr", {}, el("th", { scope: "row" }, key), ...audience.map((m) => el("td", { class: "num" }, count(byMonth.get(m.month) ?? 0)))),
      ),
    ),
  );
}

async function waiting() {
  const list = await api("GET", "/api/admin/campaigns?status=submitted&limit=50");
  list.sort((a, b) => (b.kind === "weather_alert") - (a.kind === "weather_alert"));
  $("#waiting").replaceChildren(
    list.length
      ? el(
          "ul",
          {},
          ...list.map((c) =>
            el(
              "li",
              { class: c.kind === "weather_alert" ? "weather-first" : "" },
              el("a", { href: `/admin/campagnes/${c.id}` }, c.title),
              " — ",
              c.author.name,
              ", ",
              when(c.updated_at),
              c.urgent ? " (urgent)" : "",
            ),
          ),
        )
      : el("p", { class: "muted" }, "Aucune campagne n'attend le cabinet."),
  );
}

/** A channel the provider paused, or a campaign braked: its reason, and (cabinet, admin) the button that resumes it. */
function pausedChannel(me, p) {
  const name = p.channel === "sms" ? "SMS" : "e-mails";
  const box = p.campaign
    ? el(
        "div",
        { class: "alert error", role: "alert" },
        el(
          "p",
          {},
          `Envoi des ${name} d'une campagne freiné depuis le ${when(p.since)} : ${p.reason}. Ses ${name} restants attendent, aucun n'est perdu ; vérifiez sa liste, puis reprenez l'envoi ou arrêtez la campagne. `,
          el("a", { href: `/admin/campagnes/${p.campaign}` }, "Voir la campagne"),
        ),
      )
    : el("div", { class: "alert error", role: "alert" }, el("p", {}, `Envoi des ${name} suspendu par le fournisseur depuis le ${when(p.since)} : ${p.reason}. Les messages attendent, aucun n'est perdu ; reprenez l'envoi une fois la cause réglée avec le fournisseur.`));
  if (holds(me, "cabinet", "admin")) {
    const resume = el("button", { type: "button" }, p.campaign ? `Reprendre l'envoi des ${name} de cette campagne` : `Reprendre l'envoi des ${name}`);
    const query = p.campaign ? `?campaign=${p.campaign}` : "";
    resume.addEventListener("click", () =>
      act(resume, null, async () => {
        await api("POST", `/api/admin/pauses/${p.channel}/resume${query}`);
        flash(`Envoi des ${name} repris.`);
        await health(me);
      }),
    );
    box.append(resume);
  }
  return box;
}

async function health(me) {
  const [weather, queue] = await Promise.all([api("GET", "/api/admin/weather"), api("GET", "/api/admin/health")]);
  const feed = weather.feed;
  const facts = [
    ["Dernier relevé Météo-France", feed ? when(feed.checked_at) : "jamais (flux non configuré ?)"],
    ["Dernier relevé réussi", feed?.last_success ? when(feed.last_success) : "—"],
  ];
  if (feed?.error) facts.push(["Erreur du flux", `${feed.error} (${feed.failures_in_a_row} fois de suite)`]);
  if (feed?.failures_in_a_row >= 3) {
    flash(
      `Le flux de vigilance Météo-France échoue depuis ${feed.failures_in_a_row} relevés : une alerte pourrait ne pas être relayée. Vérifiez la clé et l'adresse du flux, et surveillez vigilance.meteofrance.fr en attendant.`,
      "error",
    );
  }
  facts.push(["Alertes en cours", weather.in_force.length ? weather.in_force.map((a) => `${a.source.colour} ${a.source.phenomenon}`).join(", ") : "aucune"]);
  facts.push(["Envois en file d'attente", count(queue.queued)]);
  facts.push(["Envois abandonnés après plusieurs essais", count(queue.dead_letters)]);
  $("#health").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("#pauses").replaceChildren(...queue.paused.map((p) => pausedChannel(me, p)));
}

async function dashboard(me) {
  showPerson(me);
  $("#signin").hidden = true;
  $("#dashboard").hidden = false;
  document.querySelector("h1").textContent = "Tableau de bord";
  document.title = document.title.replace(/^[^—]+/, "Tableau de bord ");
  $("#period").addEventListener("submit", (e) => {
    e.preventDefault();
    figures($("#from").value, $("#to").value).catch((err) => flash(err.message, "error"));
  });
  await Promise.all([figures(), waiting(), health(me)]).catch((err) => flash(err.message, "error"));
}

const me = await whoami();
if (me && !holds(me, "redaction", "cabinet", "admin")) {
  // A department's page is its proposals; the front desk's, the subscriber file.
  location.replace(holds(me, "service") ? "/admin/propositions" : "/admin/abonnes");
} else if (me) {
  await dashboard(me);
} else {
  $("#signin-form").addEventListener("submit", signIn);
}

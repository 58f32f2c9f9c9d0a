// Télmail back office, `/admin/campagnes/{id}`: one campaign — its status, exact SMS and email,
// audience and cost, audit trail, the live progress while it is sent, and what the person's
// roles allow on it (edit, submit, approve the version shown, reject with a reason, stop).

import { api } from "./api.js";
import { $, LABELS, act, count, el, euros, flash, holds, outlook, start, status, when, zonesNote } from "./ui.js";

const me = await start();
const box = $("#campaign");
const id = box.dataset.id;
let timer = null;
/** The audience and cost last shown, for the approval's confirmation. */
let lastEstimate = {};
/** While the campaign can still move (another person approves, the send goes on), the page follows it. */
const MOVING = ["submitted", "approved", "scheduled", "sending"];
let shown = null;

const ACTIONS = {
  created: "créée",
  edited: "modifiée",
  submitted: "soumise au cabinet",
  approved: "approuvée",
  rejected: "refusée",
  cancelled: "annulée",
  sending: "envoi commencé",
  sent: "envoi terminé",
  scheduled: "programmée",
  reopened: "remise en brouillon sans changement",
};

/** One line of the history; a test send names whom it went to, never the addresses. */
function trailLine(e) {
  if (e.action === "test_sent") return `${when(e.at)} — envoi de test à ${e.actor.name} (${e.reason})`;
  return [`${when(e.at)} — ${ACTIONS[e.action] || e.action} par ${e.actor.name}`, e.reason ? ` : « ${e.reason} »` : ""];
}

/** The town's zones by slug, to name those a campaign is limited to. */
const ZONES = new Map((await api("GET", "/api/zones").catch(() => [])).map((z) => [z.slug, z.name]));

const PHENOMENA = LABELS.phenomenon;
const COLOURS = LABELS.colour;

function facts(c) {
  const rows = [
    ["Statut", status(c.status)],
    ["Type", { standard: "campagne", weather_alert: "alerte météo", weather_alert_end: "fin d'alerte météo", cell_alert: "alerte de la cellule de crise" }[c.kind]],
    ["Thèmes", c.topics.join(", ")],
    [
      "Zones",
      c.zones?.length
        ? `${c.zones.map((z) => `« ${ZONES.get(z) || z} »`).join(", ")}${c.include_unzoned ? ", et les abonnés qui n'ont indiqué aucune zone" : " seulement"}`
        : "toute la ville",
    ],
    ["Rédigée par", `${c.author.name}, le ${when(c.created_at)}`],
    ["Dernière modification", when(c.updated_at)],
    ["Urgent", c.urgent ? "oui (SMS envoyés même hors des heures d'envoi)" : "non"],
    ["Réponse demandée", c.acknowledgement ? "oui : « Je suis en sécurité » / « J'ai besoin d'aide »" : "non"],
    ["Envoi programmé", c.send_at ? when(c.send_at) : "dès l'approbation"],
    ["Version", String(c.version)],
  ];
  if (c.source) {
    const s = c.source;
    rows.push([
      "Source",
      `Météo-France, vigilance ${COLOURS[s.colour]} ${PHENOMENA[s.phenomenon]} (domaine ${s.domain}) du ${when(s.begins)} au ${when(s.ends)}, bulletin du ${when(s.product_time)}`,
    ]);
  }
  if (c.rejection_reason) rows.push(["Motif du refus", c.rejection_reason]);
  return el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function progress(c) {
  const p = c.counts;
  if (!p) return "";
  const channel = (name, k) => {
    const t = p[k];
    const done = t.sent + t.failed + t.suppressed;
    const left = Math.max(t.targeted - done, 0);
    return el(
      "div",
      { class: "card" },
      el("h3", {}, name),
      el("progress", { max: Math.max(t.targeted, 1), value: done, "aria-label": `${name} : ${count(done)} sur ${count(t.targeted)}` }),
      el(
        "p",
        {},
        `${count(t.sent)} envoyés, ${count(t.failed)} en échec, ${count(t.suppressed)} bloqués, ${count(left)} en attente`,
        k === "sms" && left && !c.urgent && c.status === "sending" && !c.sms_window_open ? " (hors des heures d'envoi : ils partiront à l'ouverture)" : "",
      ),
    );
  };
  return el(
    "section",
    { "aria-labelledby": "progress-title" },
    el("h2", { id: "progress-title" }, c.status === "sending" ? "Envoi en cours" : "Résultat de l'envoi"),
    el("div", { class: "grid" }, c.email ? channel("E-mails", "email") : "", c.sms ? channel("SMS", "sms") : "", c.voice ? channel("Appels vocaux", "voice") : ""),
    el("p", {}, `Coût à ce jour : ${euros(p.cost)} HT (${count(p.sms_segments)} SMS facturés : un long SMS compte pour plusieurs).`),
    c.email
      ? el(
          "p",
          {},
          `Retours des messageries : ${count(p.feedback.bounces)} adresse(s) inexistante(s), ${count(p.feedback.complaints)} signalement(s) comme indésirable. L'envoi des e-mails est freiné à 5 % d'adresses inexistantes ou 0,1 % de signalements ; le tableau de bord le signale alors.`,
        )
      : "",
  );
}

async function rendering(c) {
  const [preview, estimate] = await Promise.all([
    api("GET", `/api/admin/campaigns/${id}/preview`),
    api("POST", `/api/admin/campaigns/${id}/estimate`),
  ]);
  // Same origin without scripts, so the page can size the frame to the whole email.
  const frame = el("iframe", { class: "preview fitted", title: "L'e-mail tel que les abonnés le verront", sandbox: "allow-same-origin" });
  frame.addEventListener("load", () => fit(frame));
  frame.srcdoc = preview.email_html || "";
  lastEstimate = estimate;
  return el(
    "section",
    { "aria-labelledby": "render-title" },
    el("h2", { id: "render-title" }, "Ce que recevront les abonnés"),
    el(
      "div",
      { class: "cols" },
      el("div", {}, el("h3", {}, "SMS"), preview.sms_text ? el("p", { class: "sms-preview" }, preview.sms_text) : el("p", { class: "muted" }, "Pas de SMS."),
        estimate.sms ? el("p", { class: "counter" }, `${estimate.sms.length} caractères, ${estimate.sms.segments} SMS facturé${estimate.sms.segments > 1 ? "s" : ""} par destinataire`) : ""),
      el("div", {}, el("h3", {}, `E-mail : ${preview.email_subject || "—"}`), preview.email_html ? frame : el("p", { class: "muted" }, "Pas d'e-mail.")),
    ),
    el("h3", {}, "Audience et coût"),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "E-mails"), el("dd", {}, count(estimate.email_recipients)),
      el("dt", {}, "SMS"), el("dd", {}, `${count(estimate.sms_recipients)} destinataires (${count(estimate.sms_segments_total)} SMS facturés)`),
      ...(estimate.voice ? [el("dt", {}, "Appels vocaux"), el("dd", {}, `${count(estimate.voice_recipients)} (environ ${estimate.voice.seconds} s chacun)`)] : []),
      el("dt", {}, "Coût estimé"), el("dd", {}, `${euros(estimate.total_cost)} HT`),
    ),
    zonesNote(estimate.zones),
    ["draft", "submitted", "rejected", "scheduled"].includes(c.status) ? el("h3", {}, "Limites des fournisseurs") : "",
    ["draft", "submitted", "rejected", "scheduled"].includes(c.status) ? outlook(estimate.outlook) : "",
  );
}

/** Sizes an email frame to its content (no inner scroll bar on a phone). */
function fit(frame) {
  const doc = frame.contentDocument;
  if (!doc?.documentElement) return;
  frame.style.height = `${Math.ceil(doc.documentElement.scrollHeight) + 2}px`;
}
addEventListener("resize", () => {
  for (const f of document.querySelectorAll("iframe.fitted")) fit(f);
});

/** « 1 240 e-mails et 310 SMS, 98,00 € HT, dès maintenant »: what one approval sends. */
function sending(c, e) {
  const parts = [];
  if (c.email) parts.push(`${count(e.email_recipients)} e-mail${e.email_recipients > 1 ? "s" : ""}`);
  if (c.sms) parts.push(`${count(e.sms_recipients)} SMS`);
  const start = c.send_at ? `le ${when(c.send_at)}` : "dès maintenant";
  return `${parts.join(" et ") || "aucun message"}, ${euros(e.total_cost)} HT, ${start}`;
}

/** The crisis view of an urgent campaign once it went out, for those who read the subscriber file. */
function crisisLink(c) {
  if (c.kind === "cell_alert") {
    return holds(me, "cabinet", "admin") ? el("p", {}, el("a", { class: "button", href: `/admin/cellule/alertes/${c.id}`, id: "crisis-link" }, "Suivi de l'alerte : quels membres de la cellule ont été joints")) : "";
  }
  if (!c.urgent || !["sending", "sent", "cancelled"].includes(c.status) || !holds(me, "redaction", "admin")) return "";
  return el("p", {}, el("a", { class: "button", href: `/admin/campagnes/${c.id}/crise`, id: "crisis-link" }, "Vue de crise : qui a été joint, qui est en sécurité"));
}

function trail(c) {
  return el(
    "section",
    { "aria-labelledby": "trail-title" },
    el("h2", { id: "trail-title" }, "Historique"),
    el("ol", { class: "trail" }, ...c.events.map((e) => el("li", {}, trailLine(e)))),
  );
}

function actions(c) {
  const forms = [];
  if (holds(me, "redaction") && ["draft", "submitted", "rejected"].includes(c.status)) {
    forms.push(el("a", { class: "button secondary", href: `/admin/rediger?id=${c.id}` }, "Modifier"));
  }
  if (holds(me, "redaction") && c.status === "draft") {
    const b = el("button", { type: "button" }, "Soumettre au cabinet");
    b.addEventListener("click", () => act(b, null, async () => {
      await api("POST", `/api/admin/campaigns/${id}/submit`);
      flash("Campagne soumise au cabinet.");
      await show();
    }));
    forms.push(b);
  }
  if (holds(me, "cabinet") && c.status === "submitted") forms.push(decision(c));
  if (holds(me, "cabinet", "admin") && ["approved", "scheduled", "sending"].includes(c.status)) forms.push(stopper(c));
  if (c.archived) forms.push(archiveCard(c));
  return forms.length ? el("section", { "aria-labelledby": "actions-title" }, el("h2", { id: "actions-title" }, "Actions"), ...forms) : "";
}

function decision(c) {
  const confirmation = el(
    "dialog",
    { id: "confirm-approval", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
    el("h2", { id: "confirm-title" }, "Confirmer l'envoi"),
    el("p", { id: "confirm-text" }, `Envoyer ${sending(c, lastEstimate)} ?`),
    el("button", { type: "button", id: "confirm-send" }, "Confirmer et envoyer"),
    el("button", { type: "button", id: "confirm-cancel", class: "secondary" }, "Annuler"),
  );
  const form = el(
    "form",
    { class: "card", novalidate: true },
    el("p", {}, `Vous approuvez la version ${c.version}, telle qu'affichée ci-dessus.`),
    confirmation,
    el("button", { type: "button", id: "approve" }, "Approuver et envoyer"),
    el("label", { for: "reason" }, "Motif du refus (l'auteur le verra)"),
    el("textarea", { id: "reason", name: "reason", rows: 3 }),
    el("button", { type: "button", id: "reject", class: "danger" }, "Refuser"),
  );
  // One tap must not send to everyone: the number of messages, the cost and when, confirmed.
  form.querySelector("#approve").addEventListener("click", () => confirmation.showModal());
  confirmation.querySelector("#confirm-cancel").addEventListener("click", () => confirmation.close());
  confirmation.querySelector("#confirm-send").addEventListener("click", (e) => act(e.target, form, async () => {
    confirmation.close();
    const done = await api("POST", `/api/admin/campaigns/${id}/approve`, { version: c.version });
    await show();
    const warnings = done.outlook?.warnings || [];
    const approved = c.send_at ? "Campagne approuvée : elle partira à l'heure prévue." : "Campagne approuvée : l'envoi commence.";
    flash([approved, ...warnings].join(" "), warnings.length ? "info" : "success");
  }));
  form.querySelector("#reject").addEventListener("click", (e) => act(e.target, form, async () => {
    await api("POST", `/api/admin/campaigns/${id}/reject`, { reason: form.reason.value });
    flash("Campagne refusée : l'auteur voit votre motif.");
    await show();
  }));
  return form;
}

/** The campaign's page in the public archive, and (rédaction, admin) taking it out for good. */
function archiveCard(c) {
  const card = el(
    "div",
    { class: "card" },
    el("p", {}, "Ce message est publié dans les archives publiques : ", el("a", { href: c.archived, target: "_blank", rel: "noopener" }, "voir sa page publique"), "."),
  );
  if (holds(me, "redaction", "admin")) {
    const b = el("button", { type: "button", class: "secondary", id: "withdraw" }, "Retirer des archives publiques");
    b.addEventListener("click", () => {
      if (!confirm("Retirer ce message des archives publiques ? Sa page et ses flux ne le montreront plus ; cela ne peut pas être annulé.")) return;
      act(b, null, async () => {
        await api("POST", `/api/admin/archive/${id}/withdraw`);
        flash("Message retiré des archives publiques.");
        await show();
      });
    });
    card.append(b);
  }
  return card;
}

function stopper(c) {
  const form = el(
    "form",
    { class: "card danger-zone", novalidate: true },
    el("label", { for: "stop-reason" }, "Motif de l'arrêt (facultatif)"),
    el("input", { id: "stop-reason", name: "reason", type: "text" }),
    el("button", { type: "button", class: "danger" }, c.status === "sending" ? "Arrêter l'envoi" : "Annuler l'envoi"),
  );
  form.querySelector("button").addEventListener("click", (e) => {
    if (!confirm("Arrêter cette campagne ? Ce qui est parti reste envoyé ; rien d'autre ne partira.")) return;
    act(e.target, form, async () => {
      await api("POST", `/api/admin/campaigns/${id}/cancel`, { reason: form.reason.value || null });
      flash("Campagne arrêtée.");
      await show();
    });
  });
  return form;
}

async function show() {
  clearTimeout(timer);
  const c = await api("GET", `/api/admin/campaigns/${id}`);
  document.querySelector("h1").textContent = c.title;
  document.title = `${c.title} — Télmail`;
  // What subscribers will receive comes first, then the decision about it.
  const rendered = await rendering(c);
  box.replaceChildren(facts(c), crisisLink(c), progress(c), rendered, actions(c), trail(c));
  shown = c;
  if (MOVING.includes(c.status)) {
    timer = setTimeout(() => refresh().catch((err) => flash(err.message, "error")), 1000);
  }
}

/** While the campaign moves, only the progress and status change: refresh them in place, and
 * the whole page when someone else changed its status or content. */
async function refresh() {
  const c = await api("GET", `/api/admin/campaigns/${id}`);
  const changed = c.status !== shown.status || c.version !== shown.version;
  if (!MOVING.includes(c.status) || (changed && !(shown.status === "approved" && c.status === "sending"))) return show();
  shown = c;
  const old = box.querySelector("section[aria-labelledby=progress-title]");
  const next = progress(c);
  if (old && next) old.replaceWith(next);
  else if (next) box.querySelector("dl.facts").after(next);
  box.querySelector("dl.facts .status").replaceWith(status(c.status));
  timer = setTimeout(() => refresh().catch((err) => flash(err.message, "error")), 1000);
}

if (new URLSearchParams(location.search).has("soumise")) {
  flash("Campagne soumise au cabinet.");
  // Said once: a reload or a later visit does not say it again.
  history.replaceState(null, "", location.pathname);
}
await show().catch((err) => box.replaceChildren(el("p", { class: "alert error" }, err.message)));


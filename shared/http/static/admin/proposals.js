// Télmail back office, `/admin/propositions`: a town department proposes information and
// follows what became of it; the communication service reads the inbox, takes one proposal or
// merges several into a draft campaign, or declines with a reason; figures by department.

import { api } from "./api.js";
import { $, act, count, el, flash, holds, start, values, when } from "./ui.js";

const me = await start();
const STATUS = {
  new: "nouvelle",
  taken: "retenue",
  sent: "envoyée",
  declined: "non retenue",
  withdrawn: "retirée",
};
let editing = null;

const day = (iso) => (iso ? new Date(`${iso}T12:00:00`).toLocaleDateString("fr-FR") : "—");

/** What became of a proposal, in a sentence. */
function outcome(p) {
  switch (p.status) {
    case "declined":
      return `Non retenue : ${p.decline_reason}`;
    case "taken":
      return `Retenue par ${p.decided_by} ; en attente d'envoi.`;
    case "sent":
      return `Envoyée le ${when(p.sent_at)} : ${count(p.sent.emails)} courriel(s), ${count(p.sent.sms)} SMS.`;
    default:
      return STATUS[p.status];
  }
}

function table(caption, heads, rows) {
  return el(
    "table",
    { class: "data" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows),
  );
}

// ----- A department's door: propose, edit or withdraw while new, follow.

async function showMine() {
  const mine = await api("GET", "/api/admin/proposals/mine");
  $("#mine").replaceChildren(
    mine.length === 0
      ? el("p", { class: "muted" }, "Aucune proposition pour l'instant.")
      : table(
          "Mes propositions",
          ["Titre", "Date importante", "Envoyée au service le", "Suite donnée", ""],
          mine.map((p) =>
            el(
              "tr",
              {},
              el("td", {}, p.title),
              el("td", {}, day(p.matters_on)),
              el("td", {}, when(p.created_at)),
              el("td", {}, outcome(p)),
              el(
                "td",
                {},
                p.status === "sent"
                  ? el("button", { type: "button", class: "secondary", onclick: (e) => showSent(e.target, p) }, `Voir ce qui a été envoyé pour « ${p.title} »`)
                  : p.status === "new"
                  ? [
                      el("button", { type: "button", class: "secondary", onclick: () => edit(p), "aria-label": `Modifier « ${p.title} »` }, "Modifier"),
                      " ",
                      el("button", { type: "button", class: "danger", onclick: (e) => withdraw(e.target, p) }, `Retirer « ${p.title} »`),
                    ]
                  : "",
              ),
            ),
          ),
        ),
  );
}

/** The SMS and the email as residents received them, below the list. */
async function showSent(button, p) {
  await act(button, null, async () => {
    const sent = await api("GET", `/api/admin/proposals/${p.id}/sent`);
    const frame = el("iframe", { class: "preview fitted", title: `L'e-mail envoyé pour « ${p.title} »`, sandbox: "allow-same-origin" });
    // Same origin without scripts: the frame is sized to the whole email.
    frame.addEventListener("load", () => {
      const doc = frame.contentDocument;
      if (doc?.documentElement) frame.style.height = `${Math.ceil(doc.documentElement.scrollHeight) + 2}px`;
    });
    frame.srcdoc = sent.email_html || "";
    const box = $("#sent");
    box.replaceChildren(
      el("h3", { id: "sent-title", tabindex: "-1" }, `Ce qui a été envoyé pour « ${p.title} »`),
      el("h4", {}, "SMS"),
      sent.sms_text ? el("p", { class: "sms-preview" }, sent.sms_text) : el("p", { class: "muted" }, "Pas de SMS."),
      el("h4", {}, sent.email_subject ? `E-mail : ${sent.email_subject}` : "E-mail"),
      sent.email_html ? frame : el("p", { class: "muted" }, "Pas d'e-mail."),
    );
    box.hidden = false;
    $("#sent-title").focus();
  });
}

function edit(p) {
  editing = p;
  const form = $("#propose");
  form.title.value = p.title;
  form.text.value = p.text;
  form.matters_on.value = p.matters_on || "";
  form.wants_sms.checked = p.wants_sms;
  form.contact.value = p.contact;
  for (const box of form.querySelectorAll("[name=topics]")) box.checked = p.topics.includes(box.value);
  $("#send-proposal").textContent = "Enregistrer la modification";
  $("#cancel-edit").hidden = false;
  form.title.focus();
}

function stopEditing() {
  editing = null;
  $("#propose").reset();
  $("#send-proposal").textContent = "Envoyer la proposition";
  $("#cancel-edit").hidden = true;
}

async function withdraw(button, p) {
  if (!confirm(`Retirer la proposition « ${p.title} » ?`)) return;
  await act(button, null, async () => {
    await api("POST", `/api/admin/proposals/${p.id}/withdraw`);
    flash(`Proposition « ${p.title} » retirée.`);
    await showMine();
  });
}

async function department() {
  $("#propose-section").hidden = false;
  $("#mine-section").hidden = false;
  const topics = await api("GET", "/api/topics");
  $("#topic-choices").replaceChildren(
    ...topics.map((t) =>
      el("p", {}, el("input", { type: "checkbox", id: `topic-${t.slug}`, name: "topics", value: t.slug }), " ", el("label", { for: `topic-${t.slug}` }, t.name)),
    ),
  );
  $("#cancel-edit").addEventListener("click", stopEditing);
  $("#propose").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.target;
    act($("#send-proposal"), form, async () => {
      const v = values(form);
      const body = {
        topics: [...form.querySelectorAll("[name=topics]:checked")].map((b) => b.value),
        title: v.title,
        text: v.text,
        matters_on: v.matters_on,
        wants_sms: form.wants_sms.checked,
        contact: v.contact,
      };
      const p = editing ? await api("PUT", `/api/admin/proposals/${editing.id}`, body) : await api("POST", "/api/admin/proposals", body);
      flash(editing ? `Proposition « ${p.title} » modifiée.` : `Proposition « ${p.title} » envoyée au service communication.`);
      stopEditing();
      await showMine();
    });
  });
  await showMine();
}

// ----- The communication service's inbox.

async function showInbox() {
  const all = await api("GET", "/api/admin/proposals");
  $("#take").hidden = !all.some((p) => p.status === "new");
  $("#inbox").replaceChildren(
    all.length === 0
      ? el("p", { class: "muted" }, "Aucune proposition reçue.")
      : table(
          "Propositions, les nouvelles d'abord",
          ["Choisir", "Service", "Proposition", "Date importante", "Reçue le", "Suite donnée", ""],
          all.map((p) =>
            el(
              "tr",
              {},
              el(
                "td",
                {},
                p.status === "new" ? el("input", { type: "checkbox", name: "pick", value: p.id, "aria-label": `Choisir « ${p.title} »` }) : "",
              ),
              el("td", {}, p.department),
              el(
                "td",
                {},
                el("strong", {}, p.title),
                el("p", {}, p.text),
                el("small", {}, `Contact : ${p.contact}${p.wants_sms ? " — SMS souhaité" : ""}`),
              ),
              el("td", {}, day(p.matters_on)),
              el("td", {}, when(p.created_at)),
              el("td", {}, p.campaign ? el("a", { href: `/admin/campagnes/${p.campaign}` }, outcome(p)) : outcome(p)),
              el("td", {}, p.status === "new" ? declineForm(p) : ""),
            ),
          ),
        ),
  );
}

function declineForm(p) {
  const id = `reason-${p.id}`;
  const form = el(
    "form",
    { class: "inline", novalidate: true },
    el("label", { for: id }, `Raison du refus de « ${p.title} »`),
    el("input", { id, name: "reason", type: "text", maxlength: "500" }),
    el("button", { type: "submit", class: "secondary" }, "Décliner"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(form.querySelector("button"), form, async () => {
      await api("POST", `/api/admin/proposals/${p.id}/decline`, { reason: form.reason.value });
      flash(`Proposition « ${p.title} » déclinée ; le service ${p.department} est prévenu.`);
      await showInbox();
    });
  });
  return form;
}

async function inbox() {
  $("#inbox-section").hidden = false;
  $("#take").addEventListener("click", (e) =>
    act(e.target, null, async () => {
      const ids = [...document.querySelectorAll("[name=pick]:checked")].map((b) => b.value);
      if (ids.length === 0) throw new Error("Cochez au moins une proposition.");
      const c = await api("POST", "/api/admin/proposals/take", { ids });
      location.assign(`/admin/rediger?id=${c.id}`);
    }),
  );
  await showInbox();
}

async function stats() {
  $("#stats-section").hidden = false;
  const rows = await api("GET", "/api/admin/proposals/stats");
  $("#stats").replaceChildren(
    rows.length === 0
      ? el("p", { class: "muted" }, "Aucune proposition cette année.")
      : table(
          "Propositions par service",
          ["Service", "Reçues", "Retenues", "Non retenues", "Retirées", "Envoyées", "Délai moyen jusqu'à l'envoi"],
          rows.map((r) =>
            el(
              "tr",
              {},
              el("td", {}, r.department),
              ...[r.received, r.taken, r.declined, r.withdrawn, r.sent].map((n) => el("td", {}, count(n))),
              el("td", {}, r.days_to_send === null || r.days_to_send === undefined ? "—" : `${r.days_to_send.toLocaleString("fr-FR", { maximumFractionDigits: 1 })} jour(s)`),
            ),
          ),
        ),
  );
}

const work = [];
if (holds(me, "service")) work.push(department());
if (holds(me, "redaction", "admin")) work.push(inbox());
if (holds(me, "redaction", "admin", "cabinet")) work.push(stats());
if (work.length === 0) {
  $("#contenu").append(el("p", { class: "alert error" }, "Les propositions sont réservées aux services de la ville, au service communication et au cabinet."));
}
await Promise.all(work).catch((err) => flash(err.message, "error"));

// Télmail back office, `/admin/cellule`: the crisis cell — the elected officials and agents
// who run the communal safeguard plan (kept by administrators, read by the cabinet), the alert
// that texts and calls them in one action, and its recent alerts.

import { api } from "./api.js";
import { $, act, count, el, flash, holds, start, status, values, when } from "./ui.js";

const me = await start();
const admin = holds(me, "admin");
/** The member being edited, or null when the form adds one. */
let editing = null;

/** A stored number (E.164) as dialled in France. */
function national(e164) {
  if (!e164) return "";
  if (e164.startsWith("+33") && e164.length === 12) return `0${e164.slice(3)}`.replace(/(\d\d)(?=\d)/g, "$1 ");
  return e164;
}

function phoneCell(e164) {
  return e164 ? el("a", { href: `tel:${e164}` }, national(e164)) : "—";
}

async function showMembers() {
  const members = await api("GET", "/api/admin/cell/members");
  if (!members.length) {
    $("#members").replaceChildren(el("p", { id: "members-empty" }, "La cellule de crise n'a encore aucun membre."));
    return;
  }
  $("#members").replaceChildren(
    el(
      "table",
      { class: "data", id: "members-table" },
      el("caption", { class: "skip" }, "Membres de la cellule de crise"),
      el("thead", {}, el("tr", {}, ...["Nom", "Fonction", "Mobile", "Fixe", "E-mail", "Astreinte", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        ...members.map((m) =>
          el(
            "tr",
            {},
            el("td", {}, m.name),
            el("td", {}, m.function),
            el("td", {}, phoneCell(m.mobile)),
            el("td", {}, phoneCell(m.landline)),
            el("td", {}, m.email || "—"),
            el("td", {}, m.on_duty ? "d'astreinte" : "non"),
            el(
              "td",
              {},
              admin
                ? el(
                    "span",
                    {},
                    el("button", { type: "button", class: "secondary", "aria-label": `Modifier ${m.name}`, onclick: () => edit(m) }, "Modifier"),
                    " ",
                    el("button", { type: "button", class: "danger", "aria-label": `Retirer ${m.name}`, onclick: (e) => remove(e.target, m) }, "Retirer"),
                  )
                : "",
            ),
          ),
        ),
      ),
    ),
  );
}

async function showAlerts() {
  const alerts = await api("GET", "/api/admin/cell/alerts");
  if (!alerts.length) {
    $("#alerts").replaceChildren(el("p", {}, "Aucune alerte de la cellule pour l'instant."));
    return;
  }
  $("#alerts").replaceChildren(
    el(
      "ul",
      { id: "alerts-list" },
      ...alerts.map((a) => el("li", {}, el("a", { href: `/admin/cellule/alertes/${a.campaign}` }, a.title), ` — par ${a.sent_by}, ${when(a.sent_at)} `, status(a.status))),
    ),
  );
}

function edit(m) {
  editing = m;
  const form = $("#member");
  form.name.value = m.name;
  form.function.value = m.function;
  form.mobile.value = national(m.mobile);
  form.landline.value = national(m.landline);
  form.email.value = m.email || "";
  form.on_duty.checked = m.on_duty;
  $("#member-title").textContent = `Modifier « ${m.name} »`;
  $("#member-save").textContent = "Enregistrer";
  $("#member-cancel").hidden = false;
  form.name.focus();
}

function stopEditing() {
  editing = null;
  $("#member").reset();
  $("#member-title").textContent = "Ajouter un membre";
  $("#member-save").textContent = "Ajouter le membre";
  $("#member-cancel").hidden = true;
}

function remove(button, m) {
  if (!confirm(`Retirer ${m.name} de la cellule de crise ? Ses réponses aux alertes passées sont effacées avec lui.`)) return;
  act(button, null, async () => {
    await api("DELETE", `/api/admin/cell/members/${m.id}`);
    flash(`${m.name} a été retiré(e) de la cellule de crise.`);
    if (editing?.id === m.id) stopEditing();
    await showMembers();
  });
}

$("#member").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act($("#member-save"), form, async () => {
    const body = values(form);
    if (editing) {
      const m = await api("PUT", `/api/admin/cell/members/${editing.id}`, body);
      flash(`Membre « ${m.name} » enregistré.`);
    } else {
      const m = await api("POST", "/api/admin/cell/members", body);
      flash(`Membre « ${m.name} » ajouté à la cellule de crise.`);
    }
    stopEditing();
    await showMembers();
  });
});

$("#member-cancel").addEventListener("click", stopEditing);

$("#alert").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  const v = values(form);
  const who = v.on_duty_only ? "les membres d'astreinte de la cellule" : "toute la cellule de crise";
  if (!confirm(`Alerter ${who} maintenant, par SMS et par appel ?`)) return;
  act(form.querySelector("button[type=submit]"), form, async () => {
    const sent = await api("POST", "/api/admin/cell/alerts", { text: v.text, on_duty_only: v.on_duty_only });
    flash(`Alerte envoyée à ${count(sent.members)} membre(s) : ${count(sent.sms)} SMS, ${count(sent.calls)} appel(s).`);
    location.assign(`/admin/cellule/alertes/${sent.campaign}`);
  });
});

$("#editor").hidden = !admin;
await Promise.all([showMembers(), showAlerts()]).catch((err) => flash(err.message, "error"));

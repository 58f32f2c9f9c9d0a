// Télmail back office, `/admin/cellule/alertes/{id}`: the live view of an alert of the crisis
// cell — each member reached or not, « en sécurité » or « besoin d'aide », read again every
// two seconds.

import { api } from "./api.js";
import { $, act, count, el, flash, start, status, when, crisisTotals, messageLines } from "./ui.js";

await start();
const box = $("#cell-alert");
const id = box.dataset.id;
/** How often the view is read again. */
const EVERY_MS = 2000;
let timer = null;

const totals = (t) => crisisTotals(t, ["membres alertés", "joints", "non joints"]);

function members(view) {
  if (!view.members.length) return el("p", {}, "Aucun membre alerté n'est encore dans la cellule.");
  const tel = (n) => (n ? el("a", { href: `tel:${n.replaceAll(" ", "")}` }, n) : "—");
  return el(
    "table",
    { class: "data", id: "cell-members" },
    el("caption", {}, "« Besoin d'aide » d'abord, puis les membres non joints"),
    el("thead", {}, el("tr", {}, ...["Nom", "Fonction", "État", "Mobile", "Fixe", "Messages"].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      ...view.members.map((p) =>
        el(
          "tr",
          { class: p.state.replace("_", "-") },
          el("td", {}, p.name),
          el("td", {}, p.function, p.on_duty ? " (d'astreinte)" : ""),
          el("td", {}, p.state_label, p.answered_at ? ` (${when(p.answered_at)})` : ""),
          el("td", {}, tel(p.mobile)),
          el("td", {}, tel(p.landline)),
          el("td", {}, messageLines(p.messages)),
        ),
      ),
    ),
  );
}

function render(view) {
  document.querySelector("h1").textContent = view.title;
  document.title = `${view.title} — Télmail`;
  const t = view.totals;
  box.replaceChildren(
    el("p", {}, "Envoyée par ", el("strong", {}, view.sent_by), ` ${when(view.sent_at)} `, status(view.status)),
    el("blockquote", { id: "alert-text" }, view.text),
    el(
      "p",
      { id: "summary", role: "status" },
      `${count(t.reached)} membre(s) joint(s) sur ${count(t.people)}, ${count(t.safe)} en sécurité, ${count(t.needs_help)} ayant besoin d'aide, ${count(t.not_reached)} non joint(s). Mis à jour ${when(view.at)}.`,
    ),
    totals(t),
    el("h2", {}, "Membres"),
    members(view),
  );
}

async function show() {
  clearTimeout(timer);
  render(await api("GET", `/api/admin/cell/alerts/${id}`));
  $("#cell-actions").hidden = false;
  timer = setTimeout(() => show().catch((err) => flash(err.message, "error")), EVERY_MS);
}

$("#follow-up").addEventListener("click", (e) => {
  if (!confirm("Alerter de nouveau, par SMS et par appel, les membres non joints ?")) return;
  act(e.target, null, async () => {
    const done = await api("POST", `/api/admin/cell/alerts/${id}/follow-up`);
    flash(
      done.members ? `Relance envoyée à ${count(done.members)} membre(s) : ${count(done.sms)} SMS, ${count(done.calls)} appel(s).` : "Aucun membre à relancer : tous ont été joints ou un envoi est en cours.",
      done.members ? "success" : "info",
    );
    await show();
  });
});

await show().catch((err) => box.replaceChildren(el("p", { class: "alert error" }, err.message)));

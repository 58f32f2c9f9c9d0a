// Télmail back office, `/admin/campagnes/{id}/crise`: the crisis view of an urgent campaign —
// who was reached, who answered « en sécurité » or « besoin d'aide », by zone; the people to
// call back or visit (printable, exportable as CSV), and the follow-up by another channel to
// those no message reached. It follows the campaign live.

import { api } from "./api.js";
import { $, act, count, el, flash, start, when, crisisTotals, messageLines } from "./ui.js";

await start();
const box = $("#crisis");
const id = box.dataset.id;
/** How often the view is read again while the crisis lasts. */
const EVERY_MS = 2000;
let timer = null;

const totals = (t) => crisisTotals(t, ["personnes", "jointes", "non jointes"]);

function zones(view) {
  const num = (n) => el("td", { class: "num" }, count(n));
  return el(
    "table",
    { class: "data", id: "by-zone" },
    el("caption", {}, "Par zone (une personne compte dans chaque zone qu'elle a nommée)"),
    el(
      "thead",
      {},
      el("tr", {}, ...["Zone", "Personnes", "Jointes", "Non jointes", "En cours", "En sécurité", "Besoin d'aide"].map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h))),
    ),
    el(
      "tbody",
      {},
      ...view.by_zone.map((z) =>
        el("tr", {}, el("th", { scope: "row" }, z.name), num(z.people), num(z.reached), num(z.not_reached), num(z.pending), num(z.safe), num(z.needs_help)),
      ),
    ),
  );
}

function callbacks(view) {
  if (!view.callbacks.length) return el("p", { id: "callbacks-empty" }, "Personne à rappeler pour l'instant.");
  return el(
    "table",
    { class: "data", id: "callbacks" },
    el("caption", {}, "« Besoin d'aide » d'abord, puis les personnes jamais jointes"),
    el("thead", {}, el("tr", {}, ...["État", "Téléphone", "E-mail", "Zones", "Messages"].map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      ...view.callbacks.map((p) =>
        el(
          "tr",
          { class: p.state.replace("_", "-") },
          el("td", {}, p.state_label, p.answered_at ? ` (${when(p.answered_at)})` : ""),
          el("td", {}, p.phone ? el("a", { href: `tel:${p.phone.replaceAll(" ", "")}` }, p.phone) : "—"),
          el("td", {}, p.email || "—"),
          el("td", {}, p.zones.join(", ") || "—"),
          el("td", {}, messageLines(p.messages)),
        ),
      ),
    ),
  );
}

function render(view) {
  document.querySelector("h1").textContent = `Vue de crise : ${view.title}`;
  document.title = `Vue de crise : ${view.title} — Télmail`;
  const t = view.totals;
  box.replaceChildren(
    el(
      "p",
      { id: "summary", role: "status" },
      `${count(t.reached)} personne(s) jointe(s) sur ${count(t.people)}, ${count(t.safe)} en sécurité, ${count(t.needs_help)} ayant besoin d'aide, ${count(t.not_reached)} non jointe(s). Mis à jour ${when(view.at)}.`,
    ),
    view.acknowledgement ? "" : el("p", { class: "alert info" }, "Cette campagne ne demandait pas de réponse : seules les remises des messages sont suivies."),
    totals(t),
    el("h2", {}, "Par zone"),
    zones(view),
    el("h2", {}, "Personnes à rappeler ou à aller voir"),
    callbacks(view),
  );
}

async function show() {
  clearTimeout(timer);
  const view = await api("GET", `/api/admin/campaigns/${id}/crisis`);
  render(view);
  $("#crisis-actions").hidden = false;
  timer = setTimeout(() => show().catch((err) => flash(err.message, "error")), EVERY_MS);
}

$("#follow-up").addEventListener("click", (e) => {
  if (!confirm("Envoyer de nouveau le message, par un autre canal, aux personnes non jointes ?")) return;
  act(e.target, null, async () => {
    const done = await api("POST", `/api/admin/campaigns/${id}/crisis/follow-up`);
    const sent = [];
    if (done.sms) sent.push(`${count(done.sms)} SMS`);
    if (done.voice) sent.push(`${count(done.voice)} appel(s)`);
    if (done.email) sent.push(`${count(done.email)} e-mail(s)`);
    const none = done.no_other_channel ? ` ${count(done.no_other_channel)} personne(s) n'ont pas d'autre moyen de contact : à rappeler ou aller voir.` : "";
    flash(sent.length ? `Relance envoyée à ${count(done.people)} personne(s) : ${sent.join(", ")}.${none}` : `Aucune relance possible.${none}`, sent.length ? "success" : "info");
    await show();
  });
});

$("#export-csv").addEventListener("click", (e) =>
  act(e.target, null, async () => {
    const csv = await api("GET", `/api/admin/campaigns/${id}/crisis/export`);
    const link = el("a", { href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })), download: "personnes-a-rappeler.csv", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  }),
);

$("#print").addEventListener("click", () => print());

await show().catch((err) => box.replaceChildren(el("p", { class: "alert error" }, err.message)));

// Télmail back office, `/admin/thematiques`: the topics residents choose from — create, rename,
// temporary topics with their last day, close.

import { api } from "./api.js";
import { $, act, el, flash, holds, start, values } from "./ui.js";

const me = await start();
let editing = null;

async function show() {
  const topics = await api("GET", "/api/admin/topics");
  const admin = holds(me, "admin");
  $("#list").replaceChildren(
    el(
      "table",
      { class: "data" },
      el("caption", { class: "skip" }, "Thèmes"),
      el("thead", {}, el("tr", {}, ...["Nom", "Identifiant", "Durée", "État", ""].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        ...topics.map((t) =>
          el(
            "tr",
            {},
            el("td", {}, t.name, el("small", {}, t.description)),
            el("td", {}, t.slug),
            el("td", {}, t.ends_on ? `jusqu'au ${new Date(t.ends_on).toLocaleDateString("fr-FR")}` : "permanent"),
            el("td", {}, t.active ? "ouvert" : "fermé"),
            el("td", {}, admin && t.active ? el("button", { type: "button", class: "secondary", onclick: () => edit(t) }, "Modifier") : ""),
          ),
        ),
      ),
    ),
  );
}

function edit(t) {
  editing = t;
  const form = $("#edit");
  form.name.value = t.name;
  form.description.value = t.description;
  form.ends_on.value = t.ends_on || "";
  $("#edit-title").textContent = `Modifier « ${t.name} »`;
  $("#editor").hidden = false;
  form.name.focus();
}

$("#create").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act(form.querySelector("button[type=submit]"), form, async () => {
    const t = await api("POST", "/api/admin/topics", values(form));
    flash(`Thème « ${t.name} » créé.`);
    form.reset();
    await show();
  });
});

$("#edit").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act(form.querySelector("button[type=submit]"), form, async () => {
    const v = values(form);
    await api("PUT", `/api/admin/topics/${editing.slug}`, { name: v.name, description: v.description, ends_on: v.ends_on ?? "" });
    flash("Thème modifié.");
    $("#editor").hidden = true;
    await show();
  });
});

$("#close-topic").addEventListener("click", (e) => {
  if (!confirm(`Fermer « ${editing.name} » ? Les habitants ne pourront plus le choisir ni en recevoir de messages.`)) return;
  act(e.target, $("#edit"), async () => {
    await api("POST", `/api/admin/topics/${editing.slug}/close`);
    flash("Thème fermé.");
    $("#editor").hidden = true;
    await show();
  });
});

if (!holds(me, "admin")) {
  $("#create").closest("section").hidden = true;
}
await show().catch((err) => flash(err.message, "error"));

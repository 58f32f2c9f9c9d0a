// Télmail back office, `/admin/campagnes`: every campaign, filtered by status, type and title.

import { api } from "./api.js";
import { $, el, flash, holds, start, status, when } from "./ui.js";

const me = await start();
const form = $("#filters");
// A department member writes no campaign: what was sent for their proposals is on their page.
if (!holds(me, "redaction", "cabinet", "admin")) {
  form.hidden = true;
  $("#list").replaceChildren(
    el(
      "p",
      { class: "alert info" },
      "Les campagnes sont rédigées par le service communication et approuvées par le cabinet du maire. Ce qui a été envoyé pour vos propositions se lit sur la page ",
      el("a", { href: "/admin/propositions" }, "Propositions"),
      " (bouton « Voir ce qui a été envoyé »).",
    ),
  );
  await new Promise(() => {});
}
const params = new URLSearchParams(location.search);
for (const name of ["status", "kind", "q"]) form[name].value = params.get(name) || "";

async function show() {
  const q = new URLSearchParams({ limit: "500" });
  if (form.status.value) q.set("status", form.status.value);
  let list = await api("GET", `/api/admin/campaigns?${q}`);
  if (form.kind.value) list = list.filter((c) => c.kind === form.kind.value);
  const words = form.q.value.trim().toLowerCase();
  if (words) list = list.filter((c) => c.title.toLowerCase().includes(words));
  $("#list").replaceChildren(
    list.length
      ? el(
          "table",
          { class: "data" },
          el("caption", { class: "skip" }, "Campagnes"),
          el("thead", {}, el("tr", {}, ...["Titre", "Statut", "Canaux", "Auteur", "Modifiée le"].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            ...list.map((c) =>
              el(
                "tr",
                {},
                el("td", {}, el("a", { href: `/admin/campagnes/${c.id}` }, c.title), c.urgent ? " (urgent)" : ""),
                el("td", {}, status(c.status)),
                el("td", {}, [c.sms ? "SMS" : "", c.email ? "e-mail" : ""].filter(Boolean).join(" + ")),
                el("td", {}, c.author.name),
                el("td", {}, when(c.updated_at)),
              ),
            ),
          ),
        )
      : el("p", {}, "Aucune campagne ne correspond."),
  );
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const q = new URLSearchParams();
  for (const name of ["status", "kind", "q"]) if (form[name].value) q.set(name, form[name].value);
  history.replaceState(null, "", `/admin/campagnes${q.size ? `?${q}` : ""}`);
  show().catch((err) => flash(err.message, "error"));
});
// An error replaces « Chargement… » instead of leaving it forever.
await show().catch((err) => $("#list").replaceChildren(el("p", { class: "alert error" }, err.message)));

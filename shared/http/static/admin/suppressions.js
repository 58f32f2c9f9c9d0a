// Télmail back office, `/admin/suppressions`: the addresses and numbers that receive nothing any
// more, and lifting one at the person's request.

import { api } from "./api.js";
import { $, act, el, flash, start, when } from "./ui.js";

await start();

const REASONS = { bounce: "rebond définitif", complaint: "plainte pour spam", "opt-out": "réponse STOP", staff: "demande de la personne" };

async function show() {
  const list = await api("GET", "/api/admin/suppressions");
  $("#list").replaceChildren(
    list.length
      ? el(
          "table",
          { class: "data" },
          el("caption", { class: "skip" }, "Adresses bloquées"),
          el("thead", {}, el("tr", {}, ...["Adresse ou numéro", "Motif", "Depuis le", ""].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            ...list.map((s) => {
              const lift = el("button", { type: "button", class: "secondary" }, "Lever le blocage");
              lift.addEventListener("click", () => {
                if (!confirm(`Lever le blocage de ${s.address} ? Il recevra de nouveau les messages de ses thèmes.`)) return;
                act(lift, null, async () => {
                  await api("DELETE", `/api/admin/suppressions/${encodeURIComponent(s.address)}`);
                  flash(`Blocage de ${s.address} levé.`);
                  await show();
                });
              });
              return el("tr", {}, el("td", {}, s.address), el("td", {}, REASONS[s.reason] || s.reason), el("td", {}, when(s.at)), el("td", {}, lift));
            }),
          ),
        )
      : el("p", {}, "Aucune adresse n'est bloquée."),
  );
}

await show().catch((err) => flash(err.message, "error"));

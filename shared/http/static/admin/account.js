// Télmail back office, `/admin/compte`: the signed-in person's own settings: which email and SMS
// notices they receive.

import { api } from "./api.js";
import { $, act, el, flash, start } from "./ui.js";

await start();

/** One box per notice of the person's roles; a notice without its contact says so. */
function show(mine) {
  $("#notice-choices").replaceChildren(
    ...(mine.notices.length
      ? mine.notices.map((n) =>
          el(
            "p",
            {},
            el("input", { type: "checkbox", id: `notice-${n.notice}`, name: "notices", value: n.notice, checked: n.on }),
            " ",
            el("label", { for: `notice-${n.notice}` }, n.label),
            n.reachable ? "" : el("span", { class: "hint" }, n.channel === "sms" ? " (votre compte n'a pas de numéro de mobile)" : " (votre compte n'a pas d'adresse e-mail)"),
          ),
        )
      : [el("p", { class: "muted" }, "Votre rôle ne reçoit aucun avis par e-mail ou SMS.")]),
  );
  $("#save-notices").hidden = mine.notices.length === 0;
}

$("#notices").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act($("#save-notices"), form, async () => {
    const off = [...form.querySelectorAll("[name=notices]")].filter((b) => !b.checked).map((b) => b.value);
    show(await api("PUT", "/api/admin/me/notices", { off }));
    flash(off.length ? `Avis enregistrés : ${off.length} avis coupé(s).` : "Avis enregistrés : vous recevez tous vos avis.");
  });
});

await api("GET", "/api/admin/me/notices")
  .then(show)
  .catch((err) => $("#notice-choices").replaceChildren(el("p", { class: "alert error" }, err.message)));

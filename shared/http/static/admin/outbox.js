// Télmail back office, `/admin/boite-d-envoi` (local only): the emails and SMS that would have
// gone out, newest first; an email opens rendered as recipients would see it.

import { api } from "./api.js";
import { $, el, flash, start, when } from "./ui.js";

await start();

async function show() {
  const box = await api("GET", "/api/admin/outbox");
  $("#emails").replaceChildren(
    box.emails.length
      ? el(
          "ul",
          {},
          ...box.emails.map((m) => {
            const open = el("button", { type: "button", class: "secondary" }, m.subject);
            open.addEventListener("click", () => {
              $("#viewer-title").textContent = `${m.subject} — à ${m.to}`;
              $("#email-frame").srcdoc = m.html;
              $("#viewer").hidden = false;
              $("#viewer").scrollIntoView();
            });
            return el("li", {}, open, ` à ${m.to}, ${when(m.at)}`);
          }),
        )
      : el("p", {}, "Aucun e-mail."),
  );
  $("#sms").replaceChildren(
    box.sms.length
      ? el("ul", {}, ...box.sms.map((s) => el("li", {}, el("strong", {}, s.to), ` (${when(s.at)}) : `, el("span", { class: "sms-preview" }, s.text))))
      : el("p", {}, "Aucun SMS."),
  );
}

await show().catch((err) => flash(err.message, "error"));

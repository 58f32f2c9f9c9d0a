// Télmail back office, `/admin/abonnes`: the subscriber file — search and pages, a paper form
// typed in, edits, erasure with confirmation, CSV import checked before it is committed, export.

import { api } from "./api.js";
import { exportFile, importFile, progressText } from "./files.js";
import { suggestEmail } from "./typos.js";
import { $, act, el, flash, holds, phone, start, values, when } from "./ui.js";

const me = await start();
const PAGE = 25;
/** The front desk looks for one person: a few characters at least, its first answers only. */
const FRONT_DESK_TYPED = 3;
const FRONT_DESK_ANSWERS = 20;
let offset = 0;
let topics = [];
let editing = null;
/** The last file checked, for the import button. */
let lastCheck = null;

const STATES = { active: "abonné", pending: "en attente", unsubscribed: "désabonné" };

if (!holds(me, "redaction", "admin", "accueil")) {
  $("#contenu").append(el("p", { class: "alert error" }, "Le fichier des abonnés est réservé au service communication, à l'accueil et aux administrateurs."));
  throw new Error("not a file keeper");
}
/** The front desk types forms in and corrects what it typed; import, export and erasure are the file keepers'. */
const keeper = holds(me, "redaction", "admin");
if (!keeper) {
  for (const id of ["import-section", "export", "export-order-box", "erase", "prev", "next"]) $(`#${id}`).hidden = true;
  $("#paper-place").required = true;
  // The front desk comes to type a form in: the form first, the file only after a search.
  $("#search").before($("#paper-section"));
}
/** Whether this person may edit this subscriber. */
const mayEdit = (s) => keeper || (s.consent.source === "paper" && s.consent.staff_id === me.id);

/** The emergency topics, the only ones voice calls are offered on (as on the web form). */
const VOICE_TOPICS = new Set(($("#paper-section").dataset.voiceTopics || "").split(" ").filter(Boolean));
const CHANNEL_NAMES = { email: "e-mail", sms: "SMS", voice: "appel vocal" };

/** The topic × channel grid of a form; `chosen` is the subscriber's current choices. A call is
 * offered on emergency topics, and kept wherever the subscriber already has one. */
function choices(box, prefix, chosen = []) {
  const has = (t, c) => chosen.some((s) => s.topic === t && s.channels.includes(c));
  const cell = (t, c) =>
    el("td", {}, el("input", { type: "checkbox", id: `${prefix}-${t.slug}-${c}`, "data-topic": t.slug, "data-channel": c, checked: has(t.slug, c), "aria-label": `${t.name} par ${CHANNEL_NAMES[c]}` }));
  box.replaceChildren(
    el(
      "table",
      { class: "choices" },
      el("thead", {}, el("tr", {}, ...["Thème", "E-mail", "SMS", "Appel vocal"].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        {},
        ...topics.map((t) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, t.name),
            cell(t, "email"),
            cell(t, "sms"),
            VOICE_TOPICS.has(t.slug) || has(t.slug, "voice") ? cell(t, "voice") : el("td", {}),
          ),
        ),
      ),
    ),
  );
}

function chosenIn(box) {
  const by = new Map();
  for (const i of box.querySelectorAll("input[type=checkbox]:checked")) {
    by.set(i.dataset.topic, [...(by.get(i.dataset.topic) || []), i.dataset.channel]);
  }
  return [...by].map(([topic, channels]) => ({ topic, channels }));
}

/** « Alerte météo (e-mail, SMS) »: a choice by its topic's name. */
function choiceText(c) {
  const name = topics.find((t) => t.slug === c.topic)?.name || c.topic;
  return `${name} (${c.channels.map((x) => CHANNEL_NAMES[x] || x).join(", ")})`;
}

/** Whether the front desk typed enough to search (it does not browse the file). */
const typedEnough = (text) => [...text].filter((c) => /[\p{L}\p{N}]/u.test(c)).length >= FRONT_DESK_TYPED;

async function search() {
  const f = $("#search");
  if (!keeper && !typedEnough(f.q.value)) {
    $("#results").replaceChildren(el("p", { class: "hint" }, `Tapez au moins ${FRONT_DESK_TYPED} lettres ou chiffres de l'adresse e-mail ou du numéro de la personne pour la trouver.`));
    return;
  }
  const size = keeper ? PAGE : FRONT_DESK_ANSWERS;
  const q = new URLSearchParams({ limit: String(keeper ? PAGE + 1 : size), offset: String(offset) });
  for (const name of ["q", "topic", "status"]) if (f[name].value) q.set(name, f[name].value);
  const page = await api("GET", `/api/admin/subscribers?${q}`);
  const items = page.items.slice(0, size);
  $("#prev").disabled = offset === 0;
  $("#next").disabled = page.items.length <= PAGE;
  $("#results").replaceChildren(
    items.length
      ? el(
          "table",
          { class: "data" },
          el("caption", {}, `Abonnés ${offset + 1} à ${offset + items.length}`),
          el("thead", {}, el("tr", {}, ...["E-mail", "Mobile", "Statut", "Thèmes", "Inscrit le", ""].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            ...items.map((s) =>
              el(
                "tr",
                {},
                el("td", {}, s.email || "—"),
                el("td", {}, s.phone ? phone(s.phone) : "—"),
                el("td", {}, STATES[s.status] || s.status),
                el("td", {}, s.subscriptions.map(choiceText).join(" ; ")),
                el("td", {}, when(s.created_at)),
                el("td", {}, mayEdit(s) ? el("button", { type: "button", class: "secondary", onclick: () => edit(s) }, "Modifier") : ""),
              ),
            ),
          ),
        )
      : el("p", {}, "Aucun abonné ne correspond."),
  );
  if (!keeper && page.items.length >= FRONT_DESK_ANSWERS) {
    $("#results").append(el("p", { class: "hint" }, `Seules les ${FRONT_DESK_ANSWERS} premières réponses sont montrées, leurs autres coordonnées masquées : précisez la recherche.`));
  }
}

function edit(s) {
  editing = s;
  const form = $("#edit");
  form.email.value = s.email || "";
  form.phone.value = s.phone ? phone(s.phone) : "";
  choices($("#edit-choices"), "edit", s.subscriptions);
  $("#editor").hidden = false;
  form.email.focus();
}

$("#edit").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act(form.querySelector("button[type=submit]"), form, async () => {
    await api("PUT", `/api/admin/subscribers/${editing.id}`, {
      email: form.email.value.trim(),
      phone: form.phone.value.trim(),
      subscriptions: chosenIn($("#edit-choices")),
    });
    flash("Abonné modifié.");
    $("#editor").hidden = true;
    await search();
  });
});

$("#erase").addEventListener("click", (e) => {
  const who = editing.email || editing.phone;
  if (!confirm(`Effacer définitivement ${who} et tout son historique ? Cette action est irréversible.`)) return;
  act(e.target, $("#edit"), async () => {
    await api("DELETE", `/api/admin/subscribers/${editing.id}`);
    flash(`${who} a été effacé.`);
    $("#editor").hidden = true;
    await search();
  });
});

$("#close-editor").addEventListener("click", () => {
  $("#editor").hidden = true;
});

/** The form names someone already on file: that entry, as this person may see it, and the
 * offer to add the form's topics to it (nothing removed, no contact changed). */
async function offerOwner(body) {
  const q = new URLSearchParams({ q: body.email || body.phone, limit: "1" });
  const [owner] = (await api("GET", `/api/admin/subscribers?${q}`)).items;
  if (!owner) return;
  const add = el("button", { type: "button" }, "Ajouter ces thèmes à son inscription");
  add.addEventListener("click", () =>
    act(add, $("#paper"), async () => {
      await api("POST", "/api/admin/subscribers", { ...body, add_to_existing: true });
      // Named as the desk typed it (the entry itself is shown masked).
      flash(`Thèmes ajoutés à l'inscription de ${body.email || body.phone}.`);
      $("#paper").reset();
      $("#paper-owner").replaceChildren();
    }),
  );
  $("#paper-owner").replaceChildren(
    el("h3", {}, "Déjà inscrit"),
    el(
      "p",
      {},
      [owner.email, owner.phone && phone(owner.phone)].filter(Boolean).join(" · "),
      " — ",
      owner.subscriptions.map(choiceText).join(" ; ") || "aucun thème",
    ),
    el("p", { class: "hint" }, "Vous pouvez ajouter les thèmes cochés à son inscription. Pour en retirer ou changer une adresse ou un numéro, adressez-vous au service communication."),
    add,
  );
}

// A domain one slip away from a common one (`gmial.com`): the front desk confirms or corrects.
function checkTypo() {
  const input = $("#paper-email");
  const meant = suggestEmail(input.value);
  const box = $("#paper-email-typo");
  if (!meant) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    `Vouliez-vous dire ${meant} ? `,
    el("button", { type: "button", class: "secondary", onclick: () => {
      input.value = meant;
      box.replaceChildren();
      input.focus();
    } }, `Corriger en ${meant}`),
  );
}
$("#paper-email").addEventListener("input", checkTypo);

$("#paper").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act(form.querySelector("button[type=submit]"), form, async () => {
    const v = values(form);
    const body = {
      email: v.email,
      phone: v.phone,
      paper_form_reference: v.paper_form_reference,
      place: v.place,
      subscriptions: chosenIn($("#paper-choices")),
      zones: [...$("#paper-zones").querySelectorAll("input:checked")].map((i) => i.value),
    };
    $("#paper-owner").replaceChildren();
    let s;
    try {
      s = await api("POST", "/api/admin/subscribers", body);
    } catch (err) {
      if (/appartient déjà à un autre abonné/.test(err.fields?.email || "")) await offerOwner(body).catch(() => {});
      throw err;
    }
    flash(`Abonné ajouté : ${s.email || phone(s.phone)}.`);
    form.reset();
    $("#paper-email-typo").replaceChildren();
    // The front desk finds the person it just typed in, to correct it if need be.
    if (!keeper) $("#search").q.value = s.email || s.phone;
    await search();
  });
});

// ----- CSV import: a dry run shows the per-line report, then the import is committed. The file
// goes to the file drop and is read beside the requests (files.js), whatever its size.

function importFrom(dryRun) {
  const form = $("#import");
  const file = form.file.files[0];
  if (!file) throw Object.assign(new Error("Choisissez un fichier CSV."), { fields: { file: "Choisissez un fichier CSV." } });
  const status = $("#import-progress");
  return importFile(file, form.mode.value, dryRun, form.update.checked, (job) => (status.textContent = progressText(job)));
}

function report(job, dryRun) {
  if (job.status === "failed") return [el("p", { role: "alert", class: "alert error" }, `Le fichier n'a pas pu être lu : ${job.failure}`)];
  const ok = job.lines - job.refused_lines;
  const next =
    job.refused_lines === 0 ? "" : ok > 0 ? " Corrigez le fichier, ou importez les lignes valides." : " Corrigez le fichier puis vérifiez-le à nouveau.";
  const head = dryRun
    ? `${job.lines} ligne(s) lue(s) : ${ok} valide(s), ${job.refused_lines} en erreur. Rien n'a encore été importé.${next}`
    : job.imported === 0 && !job.updated
      ? `Rien n'a été importé : ${job.refused_lines} ligne(s) en erreur.`
      : `${job.imported} abonné(s) importé(s) sur ${job.lines} ligne(s).`;
  const shown = new Set(job.errors.map((x) => x.line)).size;
  const notes = job.notes || [];
  const updated = job.update
    ? dryRun
      ? ` ${job.updated} personne(s) déjà inscrite(s) recevront de nouveaux thèmes.`
      : ` ${job.updated} personne(s) déjà inscrite(s) ont reçu de nouveaux thèmes.`
    : "";
  return [
    el("p", { role: "status" }, head + updated),
    shown < job.refused_lines ? el("p", { class: "hint" }, `Les ${shown} premières lignes refusées sont détaillées ci-dessous.`) : "",
    job.errors.length
      ? el(
          "table",
          { class: "data" },
          el("caption", {}, "Lignes refusées"),
          el("thead", {}, el("tr", {}, ...["Ligne", "Colonne", "Problème"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, ...job.errors.map((x) => el("tr", {}, el("td", {}, String(x.line)), el("td", {}, x.field), el("td", {}, x.message)))),
        )
      : "",
    notes.length
      ? el(
          "table",
          { class: "data" },
          el("caption", {}, "Personnes déjà inscrites"),
          el("thead", {}, el("tr", {}, ...["Ligne", "Mise à jour"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, ...notes.map((x) => el("tr", {}, el("td", {}, String(x.line)), el("td", {}, x.message)))),
        )
      : "",
  ];
}

$("#import").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  act(form.querySelector("button[type=submit]"), form, async () => {
    $("#commit").hidden = true;
    const checked = await importFrom(true);
    $("#import-report").replaceChildren(...report(checked, true));
    // Valid lines can be imported from here, whatever the mode chosen before checking.
    const importable = checked.status === "done" && checked.lines > checked.refused_lines;
    $("#commit").hidden = !importable;
    lastCheck = checked;
    // Says what the button does: all the lines, or the valid ones only.
    const valid = checked.lines - checked.refused_lines;
    const which = valid === 1 ? "la ligne" : `les ${valid} lignes`;
    $("#commit").textContent = `Importer ${which}${checked.refused_lines ? (valid === 1 ? " valide" : " valides") : ""}`;
  });
});

$("#commit").addEventListener("click", (e) =>
  act(e.target, $("#import"), async () => {
    // « Importer les N lignes valides »: the lines in error stay out.
    if (lastCheck?.refused_lines) $("#import").mode.value = "valid_only";
    const done = await importFrom(false);
    $("#import-report").replaceChildren(...report(done, false));
    $("#commit").hidden = true;
    await search();
  }),
);

$("#export").addEventListener("click", (e) =>
  act(e.target, null, async () => {
    const done = await exportFile($("#export-order").value, (job) => ($("#export-progress").textContent = progressText(job)));
    const order = done.export?.unsorted
      ? " Le fichier est trop grand pour être trié (plus de 100 000 abonnés) : triez-le dans votre tableur."
      : done.order === "contact"
        ? " Lignes par adresse e-mail ou numéro."
        : " Lignes par date d'inscription.";
    flash(`Export prêt : ${done.rows} abonné(s). Le téléchargement commence.${order}`);
  }),
);

$("#search").addEventListener("submit", (e) => {
  e.preventDefault();
  offset = 0;
  search().catch((err) => flash(err.message, "error"));
});
$("#prev").addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  search().catch((err) => flash(err.message, "error"));
});
$("#next").addEventListener("click", () => {
  offset += PAGE;
  search().catch((err) => flash(err.message, "error"));
});

// The front desk offers the topics open for sign-up, as the form handed in does.
topics = await api("GET", keeper ? "/api/admin/topics" : "/api/topics");
$("#topic").append(...topics.map((t) => el("option", { value: t.slug }, t.name)));
choices($("#paper-choices"), "paper");
// The zones the resident named on the form (optional), when the town has defined some.
const zones = await api("GET", "/api/zones").catch(() => []);
if (zones.length) {
  $("#paper-zones").replaceChildren(
    ...zones.map((z) => el("label", { class: "check" }, el("input", { type: "checkbox", value: z.slug }), ` ${z.name}`)),
  );
  $("#paper-zones-box").hidden = false;
}
await search().catch((err) => flash(err.message, "error"));

// Télmail back office, `/admin/rediger`: write a campaign — topics, SMS with a live counter that
// points at the characters forcing Unicode (and replaces them in one click), email in Markdown
// with a live preview in the town's layout, urgency, scheduling, estimate, test, submission.

import { api } from "./api.js";
import { $, act, clearErrors, el, euros, flash, holds, outlook, start, count, zonesNote } from "./ui.js";

const me = await start();
const form = $("#composer");
let id = new URLSearchParams(location.search).get("id");
/** Whether something typed is not saved yet: leaving then asks first. */
let dirty = false;
form.addEventListener("input", () => (dirty = true));
form.addEventListener("change", () => (dirty = true));
addEventListener("beforeunload", (e) => {
  if (!dirty) return;
  e.preventDefault();
  e.returnValue = "";
});

if (!holds(me, "redaction")) {
  form.replaceChildren(el("p", { class: "alert error" }, "La rédaction des campagnes est réservée au service communication (rôle « redaction »)."));
  throw new Error("not a writer");
}

const debounce = (fn, ms) => {
  let t;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
};

/** The campaign as the API takes it. */
function input() {
  const topics = [...form.querySelectorAll("input[name=topics]:checked")].map((i) => i.value);
  const zones = [...form.querySelectorAll("input[name=zones]:checked")].map((i) => i.value);
  const local = form.send_at.value;
  return {
    title: form.title.value,
    topics,
    sms: $("#with-sms").checked ? { text: $("#sms").value } : null,
    email: $("#with-email").checked ? { subject: $("#subject").value, body_markdown: $("#body").value } : null,
    voice: $("#with-voice").checked ? { text: $("#voice").value } : null,
    zones: zones.length ? zones : null,
    include_unzoned: $("#include_unzoned").checked,
    urgent: $("#urgent").checked,
    acknowledgement: $("#acknowledgement").checked,
    send_at: local || null,
    publish: $("#publish").checked,
    event_date: $("#event_date").value || null,
  };
}

/** The town's zones as boxes, `chosen` ticked (a campaign limited to none goes to the whole town). */
async function loadZones(chosen = []) {
  const zones = await api("GET", "/api/zones");
  $("#zones").replaceChildren(
    ...(zones.length
      ? zones.map((z) =>
          el("label", { class: "check" }, el("input", { type: "checkbox", name: "zones", value: z.slug, checked: chosen.includes(z.slug) }), ` ${z.name}`),
        )
      : [el("p", { class: "muted" }, "Aucune zone définie : la campagne va à toute la ville.")]),
  );
}

async function loadTopics(chosen = []) {
  const topics = await api("GET", "/api/admin/topics");
  // Open today in Paris (`sv-SE` writes dates as YYYY-MM-DD).
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Europe/Paris" });
  const open = topics.filter((t) => t.active && (!t.ends_on || t.ends_on >= today) || chosen.includes(t.slug));
  $("#topics").replaceChildren(
    ...open.map((t) =>
      el(
        "label",
        { class: "check" },
        el("input", { type: "checkbox", name: "topics", value: t.slug, checked: chosen.includes(t.slug) }),
        ` ${t.name}`,
        t.ends_on ? el("span", { class: "until" }, ` (jusqu'au ${new Date(t.ends_on).toLocaleDateString("fr-FR")})`) : "",
      ),
    ),
  );
}

// ----- SMS: live counter, Unicode characters marked, one-click replacements

async function analyseSms() {
  const text = $("#sms").value;
  const a = await api("POST", "/api/admin/sms/analyze", { text });
  const encoding = a.encoding === "gsm7" ? "GSM-7" : "Unicode (UCS-2)";
  const counter = $("#sms-counter");
  counter.textContent = `${count(a.length)} caractère${a.length > 1 ? "s" : ""} — ${a.segments} SMS (${encoding}) — ${euros(a.cost_per_recipient)} HT par destinataire`;
  counter.classList.toggle("over", a.segments > 1 || a.encoding !== "gsm7");
  const marked = $("#sms-marked");
  const unicode = new Set(a.ucs2_characters);
  marked.hidden = unicode.size === 0;
  marked.replaceChildren(...[...text].map((c) => (unicode.has(c) ? el("mark", { class: "ucs2" }, c) : c)));
  const box = $("#replacement-buttons");
  const fixable = a.suggestions.filter((x) => unicode.has(x.character));
  await showFixAll(text, a, fixable);
  box.replaceChildren(
    ...a.ucs2_characters.map((c) => {
      const s = a.suggestions.find((x) => x.character === c);
      return s
        ? el(
            "button",
            { type: "button", class: "secondary", onclick: () => replace(c, s.replacement) },
            `Remplacer « ${c} » par « ${s.replacement} »`,
          )
        : el("span", { class: "muted" }, ` « ${c} » (pas d'équivalent : à retirer ou garder) `);
    }),
  );
  $("#replacements").hidden = unicode.size === 0;
}

/** « Tout remplacer », with what it saves and whether it changes the spelling. */
async function showFixAll(text, a, fixable) {
  const box = $("#fix-all");
  if (!fixable.length) {
    box.replaceChildren();
    return;
  }
  const fixed = fixable.reduce((t, x) => t.split(x.character).join(x.replacement), text);
  const after = await api("POST", "/api/admin/sms/analyze", { text: fixed });
  const amount = (m) => Number(String(m).replace(",", "."));
  const saving = amount(a.cost_per_recipient) - amount(after.cost_per_recipient);
  // A letter replaced by another letter (ê → e) changes a word's spelling; punctuation does not.
  const spelling = fixable.filter((x) => /\p{L}/u.test(x.character));
  box.replaceChildren(
    el(
      "button",
      { type: "button", onclick: () => replaceAll(fixable) },
      "Tout remplacer",
    ),
    el(
      "p",
      { class: "hint" },
      after.segments < a.segments
        ? `${a.segments} SMS → ${after.segments} SMS, −${euros(saving)} par destinataire.`
        : `Toujours ${after.segments} SMS, mais ${after.encoding === "gsm7" ? "sans Unicode" : "moins de caractères Unicode"}.`,
    ),
    spelling.length
      ? el(
          "p",
          { class: "hint" },
          `Attention, certains remplacements changent l'orthographe : ${spelling.map((x) => `« ${x.character} » devient « ${x.replacement} »`).join(", ")} (par exemple Théâtre → Théatre). Relisez le SMS.`,
        )
      : "",
  );
}

function replaceAll(fixable) {
  const sms = $("#sms");
  sms.value = fixable.reduce((t, x) => t.split(x.character).join(x.replacement), sms.value);
  dirty = true;
  estimateSoon();
  analyseSms().catch((err) => flash(err.message, "error"));
  sms.focus();
}

function replace(character, replacement) {
  const sms = $("#sms");
  sms.value = sms.value.split(character).join(replacement);
  dirty = true;
  estimateSoon();
  analyseSms().catch((err) => flash(err.message, "error"));
  sms.focus();
}

// ----- Email: live preview in the town's layout

async function previewEmail() {
  if (!$("#with-email").checked) return;
  const p = await api("POST", "/api/admin/preview", { subject: $("#subject").value, body_markdown: $("#body").value });
  $("#preview").srcdoc = p.email_html;
}

// ----- Save, estimate, test, submit

function showEstimate(e) {
  const rows = [
    ["Destinataires par e-mail", count(e.email_recipients)],
    ["Destinataires par SMS", count(e.sms_recipients)],
    ["SMS facturés (un long SMS compte pour plusieurs)", count(e.sms_segments_total)],
    ["Coût des SMS (HT)", euros(e.sms_cost)],
    ["Coût des e-mails (HT)", euros(e.email_cost)],
    ...(e.voice
      ? [
          ["Appels vocaux", `${count(e.voice_recipients)} (environ ${e.voice.seconds} s chacun)`],
          ["Coût des appels (HT)", euros(e.voice_cost)],
        ]
      : []),
    ["Coût total (HT)", euros(e.total_cost)],
  ];
  $("#estimate").replaceChildren(
    el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    e.sms_waits_for_window ? el("p", { class: "muted" }, "Hors des heures d'envoi : les SMS non urgents attendront l'ouverture.") : "",
    zonesNote(e.zones),
    outlook(e.outlook),
  );
}

/** The estimate of what the composer holds now, saved or not. */
async function liveEstimate() {
  const c = input();
  showEstimate(
    await api("POST", "/api/admin/estimate", {
      topics: c.topics,
      sms_text: c.sms ? c.sms.text : null,
      email: Boolean(c.email),
      urgent: c.urgent,
      acknowledgement: c.acknowledgement,
      send_at: c.send_at,
      voice_text: c.voice ? c.voice.text : null,
      zones: c.zones,
      include_unzoned: c.include_unzoned,
    }),
  );
}
const estimateSoon = debounce(() => liveEstimate().catch((err) => flash(err.message, "error")), 250);
form.addEventListener("input", estimateSoon);
form.addEventListener("change", estimateSoon);

function saved(c) {
  id = c.id;
  history.replaceState(null, "", `/admin/rediger?id=${c.id}`);
  $("#state").textContent = `Campagne enregistrée (version ${c.version}, ${c.status === "draft" ? "brouillon" : c.status}).`;
  $("#test").disabled = false;
  $("#submit").disabled = false;
  $("#why-disabled").hidden = true;
  dirty = false;
}

async function save() {
  const c = id ? await api("PUT", `/api/admin/campaigns/${id}`, input()) : await api("POST", "/api/admin/campaigns", input());
  saved(c);
  return c;
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  act($("#save"), form, async () => {
    await save();
    flash("Brouillon enregistré.");
  });
});

$("#test").addEventListener("click", () =>
  act($("#test"), form, async () => {
    await save();
    const r = await api("POST", `/api/admin/campaigns/${id}/test`);
    flash(`Test envoyé à ${[r.email, r.sms].filter(Boolean).join(" et ")}.`);
  }),
);

$("#submit").addEventListener("click", () =>
  act($("#submit"), form, async () => {
    await save();
    await api("POST", `/api/admin/campaigns/${id}/submit`);
    dirty = false;
    location.assign(`/admin/campagnes/${id}?soumise=1`);
  }),
);

for (const [box, fields] of [
  ["#with-sms", ["#sms"]],
  ["#with-email", ["#subject", "#body"]],
]) {
  $(box).addEventListener("change", () => {
    for (const f of fields) $(f).disabled = !$(box).checked;
  });
}

$("#sms").addEventListener("input", debounce(() => analyseSms().catch((err) => flash(err.message, "error")), 120));
for (const f of ["#subject", "#body"]) {
  $(f).addEventListener("input", debounce(() => previewEmail().catch((err) => flash(err.message, "error")), 300));
}

// ----- Start: a new campaign, or the one named in the address

if (id) {
  const c = await api("GET", `/api/admin/campaigns/${id}`);
  form.title.value = c.title;
  $("#with-sms").checked = Boolean(c.sms);
  $("#sms").value = c.sms?.text || "";
  $("#with-email").checked = Boolean(c.email);
  $("#subject").value = c.email?.subject || "";
  $("#body").value = c.email?.body_markdown || "";
  $("#with-voice").checked = Boolean(c.voice);
  $("#voice").value = c.voice?.text || "";
  $("#include_unzoned").checked = Boolean(c.include_unzoned);
  $("#urgent").checked = c.urgent;
  $("#acknowledgement").checked = Boolean(c.acknowledgement);
  $("#publish").checked = c.publish !== false;
  $("#event_date").value = c.event_date || "";
  if (c.send_at) {
    const d = new Date(c.send_at);
    const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    form.send_at.value = local;
  }
  await Promise.all([loadTopics(c.topics), loadZones(c.zones || [])]);
  saved(c);
} else {
  await Promise.all([loadTopics(), loadZones()]);
}
clearErrors(form);
await Promise.all([analyseSms(), previewEmail(), liveEstimate()]).catch((err) => flash(err.message, "error"));

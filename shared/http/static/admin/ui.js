// Télmail back office: what every page shares — building elements (text only, never HTML from
// data), French formats, errors shown next to their fields, the menu by role.

import { api, signOut, whoami } from "./api.js";

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const paris = { timeZone: "Europe/Paris" };

/** `01/12/2026 à 14:05`, Paris time. */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const day = d.toLocaleDateString("fr-FR", paris);
  const time = d.toLocaleTimeString("fr-FR", { ...paris, hour: "2-digit", minute: "2-digit" });
  return `${day} à ${time}`;
}

/** A mobile number as dialled in France (`06 12 34 56 78`, overseas departments too);
 * other countries as stored (`+44…`). */
export function phone(e164) {
  const m = /^\+(33|262|590|594|596)(\d{9})$/.exec(e164 || "");
  if (!m) return e164;
  return `0${m[2]}`.match(/.{1,2}/g).join(" ");
}

/** « déc. 2026 » for `2026-12`. */
export function monthName(ym) {
  const [y, m] = String(ym).split("-").map(Number);
  if (!y || !m) return ym;
  return new Date(Date.UTC(y, m - 1, 15)).toLocaleDateString("fr-FR", { month: "short", year: "numeric", timeZone: "UTC" });
}

/** A number with French grouping. */
export const count = (n) => Number(n || 0).toLocaleString("fr-FR");

/** `12,34 €` from a decimal string or number. */
export function euros(amount) {
  const n = typeof amount === "string" ? Number(amount.replace(",", ".")) : Number(amount || 0);
  return n.toLocaleString("fr-FR", { style: "currency", currency: "EUR" });
}

/** An amount in its currency (`EUR` or `USD`). */
const money = (n, currency) => Number(n || 0).toLocaleString("fr-FR", { style: "currency", currency: currency || "EUR" });

/**
 * A campaign's fit with the providers' limits (`outlook` of an estimate): what blocks its
 * approval, what to know, the quota and spend left, when each channel would finish.
 */
export function outlook(o) {
  if (!o) return "";
  const rows = [];
  if (o.email) {
    if (o.email.remaining_today !== null) rows.push(["Quota d'e-mails", `${count(o.email.remaining_today)} restants sur ${count(o.email.daily_quota)} par 24 h`]);
    if (o.email.finishes_at) rows.push(["Fin prévue des e-mails", when(o.email.finishes_at)]);
  }
  if (o.sms) {
    if (o.sms.monthly_limit !== null) rows.push(["Plafond SMS", `${money(o.sms.spent_this_month, o.sms.currency)} dépensés sur ${money(o.sms.monthly_limit, o.sms.currency)} ce mois-ci`]);
    if (o.sms.finishes_at) rows.push(["Fin prévue des SMS", when(o.sms.finishes_at)]);
  }
  return el(
    "div",
    { class: "outlook" },
    ...o.refusals.map((t) => el("p", { class: "alert error" }, t)),
    ...o.warnings.map((t) => el("p", { class: "alert info" }, t)),
    rows.length ? el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])) : "",
  );
}

/** The French labels of the API's wire names (`campaign_status`, `role`, `phenomenon`,
 * `colour`), as the server writes them in the page from its domain types. */
export const LABELS = JSON.parse(document.getElementById("labels").textContent);

export const STATUS = LABELS.campaign_status;

/** Roles as staff call them. */
export const ROLES = LABELS.role;

/** A person's roles in words (`Rédaction, Cabinet du maire`). */
export const roleNames = (roles) => roles.map((r) => ROLES[r] || r).join(", ");

export const status = (s) => el("span", { class: `status ${s}` }, STATUS[s] || s);

/** Clears the errors shown in a form. */
export function clearErrors(form) {
  for (const p of $$(".field-error", form)) p.remove();
  for (const i of $$("[aria-invalid]", form)) {
    i.removeAttribute("aria-invalid");
    i.removeAttribute("aria-describedby");
  }
  for (const f of $$("fieldset[aria-describedby]", form)) f.removeAttribute("aria-describedby");
  const summary = $(".alert.error", form);
  if (summary) summary.remove();
}

/** Shows an API error in a form: each field's message under its input, and a summary at the
 * top (announced by screen readers) naming what to fix. */
export function showErrors(form, err) {
  clearErrors(form);
  // An older success message would contradict the error: it goes.
  $("#flash")?.replaceChildren();
  const summary = el("div", { class: "alert error", role: "alert", tabindex: "-1" }, el("p", {}, err.message));
  const list = el("ul");
  for (const [field, message] of Object.entries(err.fields || {})) {
    const id = `${field.replace(/[^a-z0-9_-]/gi, "-")}-err`;
    const group = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (group) {
      group.append(el("p", { class: "field-error", id }, message));
      group.closest("fieldset")?.setAttribute("aria-describedby", id);
    } else if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.insertAdjacentElement("afterend", el("p", { class: "field-error", id }, message));
    }
    list.append(el("li", {}, `${labelOf(form, field)} : ${message}`));
  }
  if (list.children.length) summary.append(list);
  form.prepend(summary);
  summary.focus();
}

function labelOf(form, field) {
  const group = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
  const legend = group?.closest("fieldset")?.querySelector("legend");
  if (legend) return legend.textContent.trim();
  const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
  const label = input?.id ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
  return label ? label.textContent.trim() : field;
}

/** A message at the top of the page's main area (success or error), announced. */
export function flash(text, tone = "success") {
  const box = $("#flash");
  box.replaceChildren(el("div", { class: `alert ${tone}`, role: tone === "error" ? "alert" : "status" }, text));
  box.scrollIntoView({ block: "nearest" });
}

/** Turns a form's fields into an object (checkboxes as booleans, empty strings as null). */
export function values(form) {
  const out = {};
  for (const input of form.elements) {
    if (!input.name || input.disabled) continue;
    if (input.type === "checkbox") out[input.name] = input.checked;
    else out[input.name] = input.value.trim() === "" ? null : input.value;
  }
  return out;
}

/** Runs an action from a button, disabling it meanwhile; errors go to the form or the page. */
export async function act(button, form, action) {
  button.disabled = true;
  try {
    if (form) clearErrors(form);
    return await action();
  } catch (err) {
    if (form) showErrors(form, err);
    else flash(err.message, "error");
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** Names each cell of the data tables after its column, so a phone can show rows as cards. */
function labelCells(root) {
  for (const table of root.querySelectorAll?.("table.data") || []) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (cell.tagName === "TD" && heads[i] !== undefined && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
      });
    }
  }
}
new MutationObserver(() => labelCells(document)).observe(document.body, { childList: true, subtree: true });

/** What limiting to zones leaves out: the subscribers of the topics who named no zone. */
export function zonesNote(zones) {
  if (!zones) return "";
  const unzoned = ["email", "sms", "voice"].reduce((n, ch) => n + zones[ch].with_unzoned - zones[ch].in_zones, 0);
  return el(
    "p",
    { class: "muted" },
    zones.include_unzoned
      ? `Limité aux zones choisies, avec les ${count(unzoned)} destinataire(s) qui n'ont indiqué aucune zone.`
      : `Limité aux zones choisies : ${count(unzoned)} destinataire(s) qui n'ont indiqué aucune zone ne le recevront pas.`,
  );
}

/** The page's start: the signed-in person (else the sign-in page), the menu by role. */
/** A message of the crisis views: its channel in words, then what became of it. */
/** Channels in words. */
export const CHANNEL_WORDS = { email: "e-mail", sms: "SMS", voice: "appel" };
export const messageLines = (messages) => messages.map((m) => `${CHANNEL_WORDS[m.channel] || m.channel} : ${m.label}`).join(", ");

/**
 * The tallies of a crisis view (a campaign's or the crisis cell's alert): `who` names the
 * people counted, plural then reached and not reached (« personnes », « jointes », « non jointes »).
 */
export function crisisTotals(t, who) {
  const card = (label, value, cls) => el("div", { class: `card tally ${cls}` }, el("p", { class: "figure" }, count(value)), el("p", {}, label));
  return el(
    "div",
    { class: "grid", id: "totals" },
    card(who[0], t.people, ""),
    card(who[1], t.reached, "reached"),
    card(who[2], t.not_reached, "not-reached"),
    card("envoi en cours", t.pending, ""),
    card("« en sécurité »", t.safe, "safe"),
    card("« besoin d'aide »", t.needs_help, "needs-help"),
  );
}

export async function start() {
  const me = await whoami();
  if (!me) {
    const back = encodeURIComponent(location.pathname + location.search);
    location.assign(`/admin?retour=${back}`);
    return new Promise(() => {});
  }
  showPerson(me);
  return me;
}

/** Fills the header and shows only the menu entries the person's roles allow. */
export function showPerson(me) {
  const roles = new Set(me.roles);
  for (const a of $$("nav.admin [data-roles]")) {
    const allowed = a.dataset.roles.split(" ").some((r) => roles.has(r));
    a.closest("li").hidden = !allowed;
  }
  $("nav.admin").hidden = false;
  const who = $("#who");
  who.replaceChildren(
    `${me.name} (${roleNames(me.roles)})`,
    el("button", { type: "button", onclick: () => signOut() }, "Se déconnecter"),
  );
  who.hidden = false;
  countProposals(me).catch(() => {});
}

/** New proposals wait for the communication service: their number on the menu and the
 * dashboard, so nobody has to go and look. */
async function countProposals(me) {
  if (!holds(me, "redaction")) return;
  const fresh = (await api("GET", "/api/admin/proposals")).filter((p) => p.status === "new").length;
  if (!fresh) return;
  const words = fresh > 1 ? `${fresh} nouvelles propositions` : "1 nouvelle proposition";
  const link = $('nav.admin a[href="/admin/propositions"]');
  if (link && !link.querySelector(".badge")) {
    link.append(" ", el("span", { class: "badge", "aria-hidden": "true" }, String(fresh)), el("span", { class: "skip" }, ` (${words})`));
  }
  const box = $("#pending-proposals");
  if (box) {
    box.replaceChildren(el("a", { href: "/admin/propositions" }, `${words} des services à traiter`));
    box.hidden = false;
  }
}

/** Whether the person holds one of the roles. */
export const holds = (me, ...roles) => roles.some((r) => me.roles.includes(r));

// Télmail back office: small bar charts drawn as SVG, each followed by the table of its figures
// (what screen readers and keyboard users read).

import { el, count } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** The colour class of each series, in order (the first has the plain colour). */
const SERIES_CLASS = ["", "alt", "third"];

/**
 * Grouped bars: `rows` are [label, value1, value2…]; `series` names each value. `format`
 * writes a value. Returns the chart and its table in a fragment.
 */
export function bars(title, rows, series, format = count) {
  const frag = document.createDocumentFragment();
  if (!rows.length) {
    frag.append(el("p", { class: "muted" }, "Aucune donnée sur la période."));
    return frag;
  }
  const width = 640;
  const rowHeight = 18 * series.length + 10;
  const labelWidth = 170;
  const height = rows.length * rowHeight + 10;
  const max = Math.max(...rows.flatMap((r) => r.slice(1).map(Number))) || 1;
  const chart = svg("svg", {
    class: "bar-chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": title,
  });
  rows.forEach((row, i) => {
    const y = 5 + i * rowHeight;
    chart.append(svg("text", { x: 0, y: y + 13 }, String(row[0])));
    series.forEach((_, s) => {
      const value = Number(row[s + 1]);
      const w = Math.round(((width - labelWidth - 90) * value) / max);
      const by = y + s * 18;
      chart.append(
        svg("rect", { class: `bar ${SERIES_CLASS[s] || ""}`.trim(), x: labelWidth, y: by, width: Math.max(w, 1), height: 14 }),
        svg("text", { x: labelWidth + w + 6, y: by + 12 }, format(row[s + 1])),
      );
    });
  });
  frag.append(chart);
  if (series.length > 1) {
    frag.append(el("p", { class: "legend" }, ...series.map((name, s) => el("span", { class: SERIES_CLASS[s] || "" }, name))));
  }
  const table = el(
    "table",
    { class: "data" },
    el("caption", { class: "skip" }, title),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), ...series.map((s) => el("th", { scope: "col", class: "num" }, s)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, el("th", { scope: "row" }, String(r[0])), ...r.slice(1).map((v) => el("td", { class: "num" }, format(v)))))),
  );
  frag.append(el("details", {}, el("summary", {}, "Voir les chiffres"), table));
  return frag;
}

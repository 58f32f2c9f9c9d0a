/* Télmail — the weather alert in force, as a banner on the town's website.
 *
 * The webmaster places <div id="telmail-alerte"></div> where the banner goes and loads this
 * script with <script src="https://…/widget/alerte.js" async></script>. While Météo-France's
 * vigilance relayed by the town is in force, the div shows a banner (role "alert", contrast
 * above 4.5:1, no movement); otherwise it stays empty. The banner takes the town's colours
 * from the div (data-texte="#ffffff" data-fond="#003b6f"), the vigilance colour marking its
 * edge and its title; without them, or if they are unreadable together (contrast below
 * 4.5:1), it is in the vigilance colour. The script reads one address of the server it came
 * from, sets no cookie and loads nothing else. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : "";
  // Text and background of each colour: contrast ratios 16:1 (yellow), 9:1 (orange), 6:1 (red).
  var colours = {
    jaune: ["#1d1d1d", "#ffe14d"],
    orange: ["#1d1d1d", "#ff9f1c"],
    rouge: ["#ffffff", "#b3001b"]
  };
  /** The relative luminance of a "#rgb" or "#rrggbb" colour (WCAG 2.1), or null. */
  function luminance(hex) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    var lin = function (i) {
      var v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  }
  /** The town's text and background colours from the div, if readable together. */
  function townColours(place) {
    var text = place.dataset.texte, back = place.dataset.fond;
    var a = luminance(text), b = luminance(back);
    if (a === null || b === null) return null;
    var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    return ratio >= 4.5 ? [text, back] : null;
  }
  function show(place, alert) {
    var c = colours[alert.colour] || colours.orange;
    var town = townColours(place) || c;
    var banner = document.createElement("div");
    banner.setAttribute("role", "alert");
    banner.className = "telmail-alerte telmail-alerte-" + alert.colour;
    banner.style.color = town[0];
    banner.style.background = town[1];
    banner.style.padding = "0.75rem 1rem";
    banner.style.border = "2px solid " + town[0];
    // The vigilance colour marks the edge whatever the town's colours.
    banner.style.borderLeft = "0.75rem solid " + c[1];
    banner.style.fontFamily = "inherit";
    banner.style.lineHeight = "1.4";
    var title = document.createElement("strong");
    title.textContent = "Vigilance " + alert.colour + " " + alert.phenomenon;
    if (town !== c) {
      // The title in the vigilance colour, as a label.
      title.style.color = c[0];
      title.style.background = c[1];
      title.style.padding = "0 0.25rem";
    }
    var when = document.createElement("span");
    var fmt = function (iso) {
      return new Date(iso).toLocaleString("fr-FR", {
        timeZone: "Europe/Paris", weekday: "long", day: "numeric", month: "long",
        hour: "2-digit", minute: "2-digit"
      });
    };
    when.textContent = " — du " + fmt(alert.begins) + " au " + fmt(alert.ends) + ". ";
    var text = document.createElement("p");
    text.style.margin = "0.25rem 0";
    text.textContent = alert.text;
    var link = document.createElement("a");
    link.href = alert.url;
    link.textContent = "Lire le message de la Ville";
    link.style.color = town[0];
    link.style.textDecoration = "underline";
    banner.appendChild(title);
    banner.appendChild(when);
    banner.appendChild(text);
    banner.appendChild(link);
    place.replaceChildren(banner);
  }
  function run() {
    var place = document.getElementById("telmail-alerte");
    if (!place || !origin) return;
    fetch(origin + "/api/public/alert", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { alert: null }; })
      .then(function (body) {
        if (body.alert) show(place, body.alert); else place.replaceChildren();
      })
      .catch(function () { /* no banner when Télmail cannot be reached */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();

/* Télmail — the weather alert in force, as a banner on the town's website.
 *
 * The webmaster places <div id="telmail-alerte"></div> where the banner goes and loads this
 * script with <script src="https://…/widget/alerte.js" async></script>. While Météo-France's
 * vigilance relayed by the town is in force, the div shows a banner in the vigilance colour
 * (role "alert", contrast above 4.5:1, no movement); otherwise it stays empty. The script
 * reads one address of the server it came from, sets no cookie and loads nothing else. */
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
  function show(place, alert) {
    var c = colours[alert.colour] || colours.orange;
    var banner = document.createElement("div");
    banner.setAttribute("role", "alert");
    banner.className = "telmail-alerte telmail-alerte-" + alert.colour;
    banner.style.color = c[0];
    banner.style.background = c[1];
    banner.style.padding = "0.75rem 1rem";
    banner.style.border = "2px solid " + c[0];
    banner.style.fontFamily = "inherit";
    banner.style.lineHeight = "1.4";
    var title = document.createElement("strong");
    title.textContent = "Vigilance " + alert.colour + " " + alert.phenomenon;
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
    link.style.color = c[0];
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

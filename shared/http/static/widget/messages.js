/* Télmail — the town's latest message of a topic, on its website (« Dernières informations
 * pratiques »).
 *
 * The webmaster places <div id="telmail-messages" data-theme="infos-pratiques"></div> (the
 * topic's slug; none: every topic) and loads this script with
 * <script src="https://…/widget/messages.js" async></script>. The div shows the message's title
 * as a link to its page in the archive, its date and its summary. The script reads one address
 * of the server it came from, sets no cookie and loads nothing else. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : "";
  function run() {
    var place = document.getElementById("telmail-messages");
    if (!place || !origin) return;
    var topic = place.getAttribute("data-theme");
    var url = origin + "/api/public/latest" + (topic ? "?topic=" + encodeURIComponent(topic) : "");
    fetch(url, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { message: null }; })
      .then(function (body) {
        var m = body.message;
        if (!m) { place.replaceChildren(); return; }
        var box = document.createElement("section");
        box.className = "telmail-messages";
        box.setAttribute("aria-label", "Dernier message de la Ville");
        var title = document.createElement("a");
        title.href = m.url;
        title.textContent = m.title;
        var heading = document.createElement("p");
        var strong = document.createElement("strong");
        strong.appendChild(title);
        heading.appendChild(strong);
        var date = document.createElement("p");
        date.textContent = new Date(m.sent_at).toLocaleDateString("fr-FR", {
          timeZone: "Europe/Paris", day: "numeric", month: "long", year: "numeric"
        });
        var summary = document.createElement("p");
        summary.textContent = m.summary;
        box.appendChild(heading);
        box.appendChild(date);
        box.appendChild(summary);
        place.replaceChildren(box);
      })
      .catch(function () { /* nothing shown when Télmail cannot be reached */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();

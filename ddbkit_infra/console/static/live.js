// ddbkit console, live page: show each stream record the server sends (server-sent events).
(function () {
  "use strict";
  var script = document.currentScript;
  var status = document.getElementById("live-status");
  var body = document.querySelector("#live tbody");
  var n = 0;
  var source = new EventSource(script.getAttribute("data-events"));
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : text;
    row.appendChild(td);
  }
  source.addEventListener("ready", function () { status.textContent = "listening"; });
  source.addEventListener("failure", function (e) {
    status.textContent = "stopped: " + JSON.parse(e.data);
    status.className = "error";
    source.close();
  });
  source.addEventListener("record", function (e) {
    var r = JSON.parse(e.data);
    var row = document.createElement("tr");
    row.className = "record event-" + r.event;
    n += 1;
    cell(row, String(n));
    cell(row, r.event);
    cell(row, r.keys);
    cell(row, r.new);
    cell(row, r.old);
    body.insertBefore(row, body.firstChild);
  });
  source.onerror = function () { if (status.textContent === "listening") { status.textContent = "reconnecting…"; } };
})();

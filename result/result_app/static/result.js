// Live results: Server-Sent Events from /stream; on repeated failure, poll /api/results.
// The page never shows stale numbers as if live: when the data is unavailable it says so.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var transport = $("transport");
  var pollTimer = null;
  var polling = false;
  var sseFailures = 0;

  function setState(kind, text) {
    var el = $("state");
    el.className = "status " + kind;
    el.textContent = text;
  }

  function render(data) {
    var section = $("results");
    if (!data || !data.options) {
      section.setAttribute("aria-disabled", "true");
      ["a", "b"].forEach(function (id) {
        $("votes-" + id).textContent = "\u2013";
        $("pct-" + id).textContent = "\u2013";
      });
      $("total").textContent = "\u2013";
      setState("err", "Results unavailable: the result service cannot reach the database.");
      return;
    }
    section.removeAttribute("aria-disabled");
    section.dataset.state = data.state;
    var total = data.total;
    data.options.forEach(function (o) {
      var pct = total ? (100 * o.votes / total) : 0;
      $("votes-" + o.id).textContent = o.votes;
      $("pct-" + o.id).textContent = total ? pct.toFixed(1) + "%" : "\u2013";
      $("bar-" + o.id).style.width = pct.toFixed(1) + "%";
      $("bar-" + o.id).parentNode.setAttribute("aria-valuenow", pct.toFixed(1));
    });
    $("total").textContent = total;
    if (total === 0) setState("warn", "No votes yet. Be the first!");
    else setState("ok", "Live: updates as votes arrive.");
  }

  function offline() {
    render(null);
    setState("err", "Connection to the result service lost. Reconnecting\u2026");
  }

  function poll() {
    transport.textContent = "polling";
    fetch("/api/results", { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(offline)
      .finally(function () { if (polling) pollTimer = setTimeout(poll, 1000); });
  }

  function startPolling() {
    if (!polling) { polling = true; poll(); }
  }

  function stopPolling() {
    polling = false;
    if (pollTimer !== null) { clearTimeout(pollTimer); pollTimer = null; }
  }

  if (!window.EventSource) { startPolling(); return; }

  function connect() {
    var source = new EventSource("/stream");
    source.onopen = function () {
      sseFailures = 0;
      transport.textContent = "live (server-sent events)";
      stopPolling();
    };
    source.onmessage = function (event) { render(JSON.parse(event.data)); };
    source.onerror = function () {
      sseFailures += 1;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an error status): reconnect ourselves, poll meanwhile.
        setTimeout(connect, 2000);
      }
      if (sseFailures >= 2) { offline(); startPolling(); }
    };
  }
  connect();
})();

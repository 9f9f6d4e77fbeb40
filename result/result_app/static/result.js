// Live results: Server-Sent Events from /stream, reconnecting after the result service or the
// network drops, with polling of /api/results meanwhile. The page never shows numbers it cannot
// vouch for: while the result service is unreachable it shows dashes and says so; while the
// database is not answering it shows the last numbers with the time they were read ("stale");
// while votes wait that nobody counts, the numbers with the time counting stalled.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var DASH = "\u2013";
  var POLL_MS = 1000;          // polling period while the event stream is down
  // No event for this long: check the stream against one request (the server may set it).
  var QUIET_MS = Number($("results").dataset.watchdogMs) || 20000;
  var transport = $("transport");
  var source = null;           // the current EventSource
  var failures = 0;            // stream errors since the last message
  var lastEventAt = Date.now();
  var last = "";               // the last data rendered, as JSON, to compare with a check
  var pollTimer = null;
  var polling = false;
  var reconnectTimer = null;

  function setState(kind, text) {
    var el = $("state");
    el.className = "status " + kind;
    el.textContent = text;
  }

  function unit(n) { return n === 1 ? "vote" : "votes"; }

  // What a check compares with what is shown: the numbers, and whether (and why) they are not live.
  function key(data) {
    return data.options ? JSON.stringify([data.options, data.state, data.stalled_since || null]) : "null";
  }

  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "?";
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function blank(text, kind) {
    last = "";
    $("results").setAttribute("aria-disabled", "true");
    $("results").dataset.total = "";
    $("results").dataset.options.split(" ").forEach(function (id) {
      $("votes-" + id).textContent = DASH;
      $("unit-" + id).textContent = "votes";
      $("pct-" + id).textContent = DASH;
      $("bar-" + id).style.width = "0%";
      $("bar-" + id).setAttribute("aria-valuenow", "0");
    });
    $("total").textContent = DASH;
    $("unit-total").textContent = "votes";
    setState(kind || "err", text);
  }

  function render(data) {
    if (!data || !data.options) {
      if (data && data.state === "starting") blank("Reading the results\u2026", "warn");
      else blank("Results unavailable: the result service cannot reach the database.");
      last = "null";
      return;
    }
    last = key(data);
    var section = $("results");
    section.removeAttribute("aria-disabled");
    var total = data.total;
    section.dataset.state = data.state;
    section.dataset.asOf = data.as_of || "";
    section.dataset.total = total;
    data.options.forEach(function (o) {
      var pct = total ? (100 * o.votes / total).toFixed(1) : "0";
      $("votes-" + o.id).textContent = o.votes;
      $("unit-" + o.id).textContent = unit(o.votes);
      $("pct-" + o.id).textContent = total ? pct + "%" : DASH;
      $("bar-" + o.id).style.width = pct + "%";
      $("bar-" + o.id).setAttribute("aria-valuenow", pct);
    });
    $("total").textContent = total;
    $("unit-total").textContent = unit(total);
    if (data.state === "stale") {
      setState("err stale", "Not live: as of " + clock(data.as_of) + " \u2014 the database is not answering.");
    } else if (data.state === "counting_stalled") {
      // waiting is null when no worker reports: then nobody knows how many votes wait, if any.
      var since = clock(data.stalled_since);
      setState("err stalled", data.waiting === null || data.waiting === undefined
        ? "Not live: votes may be waiting to be counted since " + since + " \u2014 the worker is not reporting."
        : "Not live: votes are waiting to be counted since " + since + ".");
    } else if (total === 0) setState("warn", "No votes yet. Be the first!");
    else setState("ok live", "Live: updates as votes arrive.");
  }

  function lost() {
    blank("Connection to the result service lost. Reconnecting\u2026");
    transport.textContent = "reconnecting\u2026";
  }

  function getResults() {
    // Resolves with the payload (a 503 carries {"options": null}); rejects when nothing usable came
    // within a few seconds (a request into a dead network may otherwise hang for minutes).
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, 4000);
    return fetch("/api/results", {
      headers: { "Accept": "application/json" }, cache: "no-store", signal: abort ? abort.signal : undefined
    }).then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data || !("options" in data)) throw new Error("unexpected answer");
        return data;
      })
      .finally(function () { clearTimeout(timer); });
  }

  // Polling: only while the event stream is down; a late answer after the stream is back is dropped.
  function poll() {
    getResults().then(function (data) {
      if (!polling) return;
      render(data);
      transport.textContent = "polling every second";
    }, function () {
      if (polling) lost();
    }).finally(function () {
      if (polling) pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  function startPolling() {
    if (!polling) { polling = true; poll(); }
  }

  function stopPolling() {
    polling = false;
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (source) source.close();
    var es = new EventSource("/stream");
    source = es;
    es.onopen = function () { lastEventAt = Date.now(); };
    es.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      failures = 0;
      lastEventAt = Date.now();
      stopPolling();
      transport.textContent = "live (server-sent events)";
      render(data);
    };
    es.onerror = function () {
      if (es !== source) return;
      failures += 1;
      // One error is a normal reconnect (the server ends each stream after a while); the browser
      // retries by itself. From the second, or when it gave up, say so and poll meanwhile; from
      // then on the polling shows what it gets, until the stream delivers again.
      if ((failures >= 2 || es.readyState === EventSource.CLOSED) && !polling) { lost(); startPolling(); }
      if (es.readyState === EventSource.CLOSED) {
        reconnectTimer = setTimeout(connect, Math.min(2000 * failures, 10000));
      }
    };
  }

  // A stream can die silently (a network that drops packets sends no reset). When no event came
  // for a while, one request tells whether the numbers are still current; if not, reconnect.
  function watchdog() {
    if (polling || !source || Date.now() - lastEventAt < QUIET_MS) return;
    lastEventAt = Date.now();
    getResults().then(function (data) {
      if (key(data) !== last) { render(data); connect(); }
    }, function () {
      lost();
      startPolling();
      connect();
    });
  }

  if (!window.EventSource || !window.fetch) {
    if (window.fetch) startPolling();
    return;
  }
  transport.textContent = "connecting\u2026";
  connect();
  setInterval(watchdog, Math.min(5000, Math.max(250, QUIET_MS / 4)));
  window.addEventListener("online", connect);
  window.addEventListener("offline", function () { lost(); startPolling(); });
})();

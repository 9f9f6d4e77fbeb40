// Progressive enhancement: without JavaScript the form posts and the page reloads (303); with it
// the vote goes to /api/vote and the page updates in place. Either way the server acknowledges a
// vote only after it is queued, and the page says so only then.
(function () {
  "use strict";
  var form = document.getElementById("vote-form");
  var status = document.getElementById("status");
  if (!form || !status || !window.fetch) return;
  var buttons = form.querySelectorAll("button[name=vote]");
  var busy = false;

  function show(kind, text) {
    status.className = "status " + kind;
    status.textContent = text;
    status.hidden = false;
  }

  function mark(choice) {
    buttons.forEach(function (b) {
      var chosen = b.value === choice;
      b.classList.toggle("chosen", chosen);
      b.setAttribute("aria-pressed", chosen ? "true" : "false");
      b.querySelector(".mark").textContent = chosen ? "\u2713 your vote" : "";
    });
  }

  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || !button.value) return; // an old browser: let it post the form
    event.preventDefault();
    if (busy) return; // one vote at a time; buttons stay focusable (no `disabled`) for keyboard users
    busy = true;
    form.setAttribute("aria-busy", "true");
    var choice = button.value;
    var label = button.querySelector(".label").textContent;
    fetch("/api/vote", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ vote: choice }),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 202) {
          mark(choice);
          show("ok", "Thanks! Your vote for " + label + " was recorded.");
        } else {
          var why = body.error ? body.error.charAt(0).toUpperCase() + body.error.slice(1)
            : "Your vote was not recorded (HTTP " + response.status + "). Please try again";
          show("err", why + ".");
        }
      });
    }).catch(function () {
      show("err", "Your vote was not recorded: the vote service cannot be reached. Please try again.");
    }).finally(function () {
      busy = false;
      form.removeAttribute("aria-busy");
    });
  });
})();

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
      b.classList.remove("pending");
      b.setAttribute("aria-pressed", chosen ? "true" : "false");
      b.querySelector(".mark").textContent = chosen ? "\u2713 your vote" : "";
    });
  }

  // Voting is paused (the queue is not answering): the choice stays on its button, not sent yet,
  // so one press sends it again; the vote recorded before (if any) stays marked as such.
  function keep(button) {
    buttons.forEach(function (b) {
      var mine = b === button;
      b.classList.toggle("pending", mine);
      b.querySelector(".mark").textContent = mine ? "not sent yet: press again"
        : (b.classList.contains("chosen") ? "\u2713 your vote" : "");
    });
    button.focus();
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
        } else if (response.status === 503) {
          keep(button);
          show("err", "Voting is paused: your vote for " + label + " was not recorded, as the vote queue is " +
            "not answering. Your choice is kept: press " + label + " again in a moment.");
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

// Progressive enhancement: without JavaScript the form posts and the page reloads; with it the
// vote goes to /api/vote and the page updates in place. Either way the server acknowledges a vote
// only after it is queued.
(function () {
  "use strict";
  var form = document.getElementById("vote-form");
  var status = document.getElementById("status");
  if (!form || !window.fetch) return;
  var buttons = form.querySelectorAll("button[name=vote]");

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
    if (!button || !button.value) return; // let the browser post the form
    event.preventDefault();
    var choice = button.value;
    var label = button.querySelector(".label").textContent;
    buttons.forEach(function (b) { b.disabled = true; });
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
          show("err", "Your vote was not recorded: " + (body.error || response.statusText));
        }
      });
    }).catch(function () {
      show("err", "Your vote was not recorded: the vote service cannot be reached. Please try again.");
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });
})();

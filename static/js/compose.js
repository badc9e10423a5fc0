// Tweet box: a live character counter and Ctrl/Cmd+Enter to send.
//
// Progressive enhancement only: without this file the help text states the limit and the server
// explains any problem beside the field. It counts the way the server does (code points after
// trimming surrounding whitespace), so "0 left" here is exactly the server's limit. In a form
// marked data-block-over-limit (the tweet box) the send button is disabled past the limit, and
// Ctrl/Cmd+Enter does nothing, until the text is short enough: the counter says by how much. The
// server's check stays the rule (and explains itself where sending is not blocked: messages).
// Loaded with <script defer>; no inline script or handlers (the site's CSP forbids them).
(function () {
  "use strict";

  // Below this many characters left the counter turns amber and screen readers hear it.
  var WARN_AT = 20;

  function length(text) {
    return Array.from(text.trim()).length;
  }

  function enhance(textarea) {
    var limit = parseInt(textarea.getAttribute("data-max-length"), 10);
    if (!limit || textarea.hasAttribute("data-counter")) {
      return;
    }
    textarea.setAttribute("data-counter", "on");

    // What sighted users see: always there, silent for screen readers...
    var counter = document.createElement("span");
    counter.className = "compose-counter";
    counter.setAttribute("aria-hidden", "true");
    // ...and what screen readers hear: only near and over the limit, not on every key.
    var live = document.createElement("span");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");

    var slot = textarea.form && textarea.form.querySelector(".compose-counter-slot");
    (slot || textarea.parentNode).append(counter, live);

    var form = textarea.form;
    var send = form && form.hasAttribute("data-block-over-limit") ? form.querySelector("button[type=submit]") : null;

    function update() {
      var left = limit - length(textarea.value);
      if (send) {
        send.disabled = left < 0;
      }
      counter.textContent = left < 0 ? (-left) + " too many" : left + " left";
      counter.classList.toggle("is-near", left >= 0 && left <= WARN_AT);
      counter.classList.toggle("is-over", left < 0);
      var message = "";
      if (left < 0) {
        message = (-left) + (left === -1 ? " character" : " characters") + " too many";
      } else if (left <= WARN_AT) {
        message = left + (left === 1 ? " character" : " characters") + " left";
      }
      if (live.textContent !== message) {
        live.textContent = message;
      }
    }

    textarea.addEventListener("input", update);
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && textarea.form) {
        event.preventDefault();
        if (!send || !send.disabled) {
          textarea.form.requestSubmit();
        }
      }
    });
    update();
  }

  document.querySelectorAll("textarea[data-max-length]").forEach(enhance);
})();

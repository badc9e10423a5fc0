// Direct messages, live, over the page's one websocket (static/js/live.js).
//
// Conversation page: messages arrive as server-rendered (escaped) bubbles and are placed by id, so
// a message pushed twice, or caught up after a reconnect, shows once and in order. The form sends
// over the socket when it is open and falls back to a normal POST when it is not. Incoming
// messages are marked read while the page is visible. Inbox page: a new message reloads the list.
// Progressive enhancement only: without this file both pages work by reloading, and nothing is
// ever lost (messages are stored before they are pushed). No inline script or handlers (CSP).
(function () {
  "use strict";
  var live = window.TweetHubLive;
  if (!live) {
    return;
  }
  // Longest wait for the server to confirm a message before the form is given back.
  var SEND_TIMEOUT_MS = 10000;

  function same(a, b) {
    return String(a || "").toLowerCase() === String(b || "").toLowerCase();
  }

  function conversationPage(thread) {
    var other = thread.dataset.with;
    var form = document.getElementById("dm-form");
    var textarea = form && form.querySelector("textarea");
    var button = form && form.querySelector("button[type=submit]");
    var status = document.getElementById("dm-status");
    var pending = null; // timer while a message sent over the socket awaits its answer
    var unreadUpTo = 0; // newest message from the other person not yet reported as read

    function newestId() {
      var newest = 0;
      thread.querySelectorAll("[data-message-id]").forEach(function (node) {
        newest = Math.max(newest, Number(node.dataset.messageId));
      });
      return newest;
    }

    function place(message) {
      if (!message || !message.html || document.getElementById("message-" + message.id)) {
        return;
      }
      var holder = document.createElement("template");
      holder.innerHTML = message.html.trim();
      var node = holder.content.firstElementChild;
      if (!node) {
        return;
      }
      var after = null;
      thread.querySelectorAll("[data-message-id]").forEach(function (existing) {
        if (!after && Number(existing.dataset.messageId) > Number(message.id)) {
          after = existing;
        }
      });
      node.classList.add("dm-arrived");
      thread.insertBefore(node, after);
      var empty = document.getElementById("thread-empty");
      if (empty) {
        empty.remove();
      }
      node.scrollIntoView({ block: "nearest" });
      if (!same(message.sender, other)) {
        return;
      }
      unreadUpTo = Math.max(unreadUpTo, Number(message.id));
      reportRead();
    }

    function reportRead() {
      if (unreadUpTo && document.visibilityState === "visible") {
        if (live.send({ type: "dm.read", with: other, up_to: unreadUpTo })) {
          unreadUpTo = 0;
        }
      }
    }

    function showError(text) {
      var field = textarea.closest(".field");
      var list = field.querySelector(".errorlist");
      if (!text) {
        if (list) list.remove();
        field.classList.remove("field-invalid");
        textarea.removeAttribute("aria-invalid");
        return;
      }
      if (!list) {
        list = document.createElement("ul");
        list.className = "errorlist";
        list.id = textarea.id + "_live_error";
        textarea.parentNode.insertBefore(list, textarea);
      }
      list.textContent = "";
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
      list.setAttribute("role", "alert");
      field.classList.add("field-invalid");
      textarea.setAttribute("aria-invalid", "true");
    }

    function settle() {
      window.clearTimeout(pending);
      pending = null;
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }

    live.on("dm.new", function (payload) {
      if (same(payload.with, other)) place(payload);
    });
    live.on("dm.catch_up", function (payload) {
      if (same(payload.with, other)) (payload.messages || []).forEach(place);
    });
    live.on("open", function () {
      // First connection or a reconnection: ask for whatever arrived while the socket was down.
      live.send({ type: "dm.catch_up", with: other, after: newestId() });
      reportRead();
    });
    document.addEventListener("visibilitychange", reportRead);

    if (!form || !textarea || !button) {
      return; // the viewer cannot send here (unverified, or refused): read-only page
    }
    live.on("dm.sent", function (payload) {
      if (!same(payload.with, other)) return;
      settle();
      place(payload);
      textarea.value = "";
      textarea.dispatchEvent(new Event("input")); // resets compose.js's counter
      showError("");
      status.textContent = "";
      textarea.focus();
    });
    live.on("dm.error", function (payload) {
      if (payload.with && !same(payload.with, other)) return;
      settle();
      showError(payload.message || "That did not work. Please try again.");
      status.textContent = "";
    });

    live.on("error", function (payload) {
      // The consumer's answer when a handler failed unexpectedly: give the form back at once.
      if (!pending) return;
      settle();
      showError(payload.message || "That did not work. Please try again.");
      status.textContent = "";
    });

    form.addEventListener("submit", function (event) {
      if (pending) {
        event.preventDefault(); // one message at a time
        return;
      }
      if (!live.send({ type: "dm.send", to: other, text: textarea.value })) {
        return; // socket not open: the browser posts the form, the server answers with a page
      }
      event.preventDefault();
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      status.textContent = "Sending…";
      pending = window.setTimeout(function () {
        settle();
        status.textContent = "No answer from the server yet. If the message was sent, it appears above.";
      }, SEND_TIMEOUT_MS);
    });

    // With a keyboard, Enter sends and Shift+Enter starts a new line (not while an input method is
    // composing text). On touch screens Enter stays a new line and the Send button sends.
    if (window.matchMedia("(pointer: coarse)").matches) {
      return;
    }
    var help = form.querySelector(".helptext");
    if (help) help.textContent += " Enter sends, Shift+Enter starts a new line.";
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  function inboxPage(rows) {
    var connectedOnce = false;
    var refreshing = false;

    function refresh() {
      if (refreshing) return;
      refreshing = true;
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-rows");
          if (fresh) rows.replaceChildren.apply(rows, Array.from(fresh.childNodes));
        })
        .catch(function () {
          // Offline for a moment: the next message or reconnection refreshes again.
        })
        .then(function () {
          refreshing = false;
        });
    }

    live.on("dm.new", refresh);
    live.on("open", function () {
      if (connectedOnce) refresh(); // a reconnection: something may have arrived meanwhile
      connectedOnce = true;
    });
  }

  var thread = document.getElementById("thread");
  var rows = document.getElementById("inbox-rows");
  if (thread) {
    conversationPage(thread);
  } else if (rows) {
    inboxPage(rows);
  }
})();

// TweetHub's one websocket per page: connects to /ws/ with the session cookie, reconnects by itself
// with exponential backoff (1 s doubling to 30 s, with jitter), and dispatches events to handlers
// that page scripts register with TweetHubLive.on(event, handler). The "open" event fires on every
// (re)connection, so pages ask for what they missed there.
//
// "live.catch_up" from the server means events may have been missed (the server's inbox was full,
// or its Redis went away): the page asks for them, as after a reconnect, after a random delay the
// server sets, so that a thousand pages told at once do not all ask in the same instant.
//
// A connection lost without a close from the server (the web process died) is retried after a
// random 1-5 s at first, not 1-1.5 s: every page of that process retries at once, and their
// catch-up reaches Postgres spread over those seconds.
//
// The server closes the socket with 4401 when its session ends (a logout in another tab, a password
// change elsewhere, a suspended account, an expired session). Reconnecting would not help, so the
// page says that it stopped updating and offers to log in again (html[data-live="ended"]).
(function () {
  "use strict";
  var handlers = {};
  var socket = null;
  var delay = 1000;
  var MAX_DELAY = 30000;
  var CLOSE_UNAUTHENTICATED = 4401;

  function dispatch(event, payload) {
    (handlers[event] || []).forEach(function (handler) {
      try {
        handler(payload);
      } catch (error) {
        console.warn("live handler for " + event + " failed", error);
      }
    });
  }

  function showEnded() {
    if (document.getElementById("live-ended")) {
      return;
    }
    var box = document.createElement("div");
    box.className = "container";
    box.id = "live-ended";
    box.setAttribute("role", "status");
    var list = document.createElement("ul");
    list.className = "flash-list";
    var item = document.createElement("li");
    item.className = "flash flash-warning";
    item.appendChild(document.createTextNode("You are logged out, so this page no longer updates. "));
    var link = document.createElement("a");
    link.href = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    link.textContent = "Log in again";
    item.appendChild(link);
    list.appendChild(item);
    box.appendChild(list);
    var main = document.getElementById("main");
    main.parentNode.insertBefore(box, main);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/");
    socket.addEventListener("open", function () {
      delay = 1000;
      document.documentElement.dataset.live = "open";
      dispatch("open", {});
    });
    socket.addEventListener("message", function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data && data.event === "live.catch_up") {
        var within = (data.payload && Number(data.payload.within_ms)) || 0;
        window.setTimeout(function () {
          dispatch("open", {});
        }, Math.random() * within);
      } else if (data && typeof data.event === "string") {
        dispatch(data.event, data.payload || {});
      }
    });
    socket.addEventListener("close", function (closed) {
      if (closed.code === CLOSE_UNAUTHENTICATED) {
        document.documentElement.dataset.live = "ended";
        showEnded();
        return; // logged out: reconnecting would not help
      }
      document.documentElement.dataset.live = "closed";
      // First retry after a lost connection: spread over 1-5 s (see above); then 1.5x jitter.
      var spread = delay === 1000 && !closed.wasClean ? 4 : 0.5;
      var wait = delay + Math.random() * delay * spread;
      delay = Math.min(delay * 2, MAX_DELAY);
      window.setTimeout(connect, wait);
    });
  }

  window.TweetHubLive = {
    on: function (event, handler) {
      (handlers[event] = handlers[event] || []).push(handler);
    },
    send: function (message) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(message));
        return true;
      }
      return false;
    },
  };

  document.addEventListener("DOMContentLoaded", connect);
})();

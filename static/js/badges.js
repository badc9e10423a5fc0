// The unread badges in the nav (notifications, messages) and the count in the page title
// ("(3) Home / TweetHub"), kept current over the page's one websocket (static/js/live.js) on every
// page a member opens. The server pushes a "badges" event whenever a count changes (a like, a
// follow, a mention or a direct message notified; "mark all read" in another tab), and the page
// asks for the counts each time its socket (re)connects, since pushes may have been missed.
// Without JavaScript the server-rendered badges and title are right as of the page's load.
(function () {
  "use strict";
  var live = window.TweetHubLive;
  if (!live) {
    return;
  }
  var PREFIX = /^\(\d+\+?\) /;

  function setBadge(kind, label) {
    var badge = document.querySelector('.nav-badge[data-badge="' + kind + '"]');
    if (!badge) {
      return;
    }
    var shown = badge.firstElementChild;
    var spoken = badge.lastElementChild;
    shown.textContent = label || "";
    spoken.textContent = label ? label + " unread" : "";
    badge.hidden = !label;
  }

  live.on("badges", function (payload) {
    setBadge("notifications", payload.notifications_label);
    setBadge("messages", payload.messages_label);
    var title = document.title.replace(PREFIX, "");
    document.title = payload.title_label ? "(" + payload.title_label + ") " + title : title;
  });

  live.on("open", function () {
    live.send({ type: "badges.get" });
  });

  // Tweets pushed live reach many members at once, so their like and bookmark forms come without
  // a CSRF token (tweets.engagement_html.live_bar): give them this page's own as they are inserted.
  function fillTokens(root) {
    var own = document.querySelector('input[name="csrfmiddlewaretoken"]:not([value=""])');
    if (!own || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll('.tweet-engage input[name="csrfmiddlewaretoken"]').forEach(function (input) {
      if (!input.value) {
        input.value = own.value;
      }
    });
  }
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(fillTokens);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();

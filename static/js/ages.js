// Tweet ages ("now", "5m", "3h", "12 Mar") computed in the browser, so a page left open stays
// right and the server can cache a tweet's HTML without its age. The server still writes the age
// when it renders the page (the no-JS fallback); this replaces it, in the very same format
// (tweets/templatetags/tweet_text.py: tweet_age and, for the link's aria-label, tweet_age_long),
// on load, every 30 seconds, when the tab comes back into view, and in tweets inserted later
// (static/js/timeline.js's live tweets), whose server-written age may be minutes old by then.
(function () {
  "use strict";
  var SELECTOR = ".tweet-time time[datetime]";
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  var script = document.currentScript;
  // Dates a day old or more are shown in the zone the server formats them in (TIME_ZONE).
  var zone = (script && script.dataset.timeZone) || "UTC";
  var dateParts;
  try {
    dateParts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, year: "numeric", month: "numeric", day: "numeric"
    });
  } catch (error) {
    dateParts = new Intl.DateTimeFormat("en-US", {
      timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric"
    });
  }

  function calendarDate(date) {
    var out = {};
    dateParts.formatToParts(date).forEach(function (part) {
      out[part.type] = Number(part.value);
    });
    return out; // {year, month (1-12), day}
  }

  function plural(count, unit) {
    return count + " " + unit + (count === 1 ? "" : "s");
  }

  // tweet_age: 'now', '5m', '3h', '21 Nov', '21 Nov 2024'.
  function shortAge(then, now) {
    var seconds = (now - then) / 1000;
    if (seconds < 60) return "now";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m";
    if (seconds < 86400) return Math.floor(seconds / 3600) + "h";
    var date = calendarDate(then);
    var shown = date.day + " " + MONTHS[date.month - 1].slice(0, 3);
    return date.year === calendarDate(now).year ? shown : shown + " " + date.year;
  }

  // tweet_age_long: 'just now', '5 minutes ago', '1 hour ago', '21 November 2024'.
  function longAge(then, now) {
    var seconds = (now - then) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return plural(Math.floor(seconds / 60), "minute") + " ago";
    if (seconds < 86400) return plural(Math.floor(seconds / 3600), "hour") + " ago";
    var date = calendarDate(then);
    return date.day + " " + MONTHS[date.month - 1] + " " + date.year;
  }

  function refreshOne(time, now) {
    var then = new Date(time.getAttribute("datetime"));
    if (isNaN(then.getTime())) return;
    var text = shortAge(then, now);
    if (time.textContent !== text) time.textContent = text;
    var link = time.closest(".tweet-time");
    var label = link && link.getAttribute("aria-label");
    var at = label ? label.indexOf("posted ") : -1;
    if (at >= 0) {
      var fresh = label.slice(0, at + "posted ".length) + longAge(then, now);
      if (fresh !== label) link.setAttribute("aria-label", fresh);
    }
  }

  function refresh(root) {
    var now = new Date();
    if (root.matches && root.matches(SELECTOR)) refreshOne(root, now);
    root.querySelectorAll(SELECTOR).forEach(function (time) {
      refreshOne(time, now);
    });
  }

  refresh(document);
  window.setInterval(function () {
    refresh(document);
  }, 30000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh(document);
  });
  // Tweets added after load: whoever inserts them, their ages are brought up to date at once.
  // Our own text changes add only text nodes, which are skipped, so this never feeds itself.
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType === Node.ELEMENT_NODE) refresh(node);
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
})();

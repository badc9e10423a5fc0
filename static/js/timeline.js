// Live home timeline. New tweets (pushed after fan-out, or caught up after a reconnect) wait in a
// "N new tweets" bar so the page never jumps under the reader; a click shows them at the top.
// Deleted tweets disappear at once. Tweet HTML comes pre-rendered (and escaped) from the server.
// Older pages appended below (static/js/tweet-list.js) are no news: a tweet older than the oldest
// one shown belongs to a later page, and a waiting tweet that an older page brings in is dropped
// from the bar.
(function () {
  "use strict";
  var timeline = document.getElementById("timeline");
  var bar = document.getElementById("new-tweets");
  if (!timeline || !bar || !window.TweetHubLive) {
    return;
  }
  var pending = []; // [{id, html}], newest first
  var barLabel = bar.querySelector("[data-count]");

  function shownIds() {
    var ids = {};
    timeline.querySelectorAll("[data-tweet-id]").forEach(function (node) {
      ids[node.dataset.tweetId] = true;
    });
    return ids;
  }

  function newestId() {
    var newest = 0;
    timeline.querySelectorAll("[data-tweet-id]").forEach(function (node) {
      var id = Number(node.dataset.tweetId);
      if (id > newest) newest = id;
    });
    pending.forEach(function (tweet) {
      if (tweet.id > newest) newest = tweet.id;
    });
    return newest;
  }

  function render() {
    bar.hidden = pending.length === 0;
    barLabel.textContent = pending.length === 1 ? "1 new tweet" : pending.length + " new tweets";
  }

  function oldestShownId() {
    var oldest = 0;
    timeline.querySelectorAll("[data-tweet-id]").forEach(function (node) {
      var id = Number(node.dataset.tweetId);
      if (!oldest || id < oldest) oldest = id;
    });
    return oldest;
  }

  function queue(tweet) {
    var key = String(tweet.id);
    if (shownIds()[key] || pending.some(function (t) { return String(t.id) === key; })) {
      return;
    }
    // The catch-up's grace window can reach past the first page: those are on a later page.
    if (Number(tweet.id) < oldestShownId()) {
      return;
    }
    pending.push(tweet);
    pending.sort(function (a, b) { return b.id - a.id; });
    render();
  }

  bar.addEventListener("click", function () {
    // Insert oldest first at the top, so the newest ends up first.
    pending.slice().reverse().forEach(function (tweet) {
      var item = document.createElement("li");
      item.innerHTML = tweet.html;
      item.classList.add("tweet-arrived");
      timeline.insertBefore(item, timeline.firstChild);
    });
    pending = [];
    render();
    var empty = document.getElementById("timeline-empty");
    if (empty) empty.hidden = true;
    timeline.hidden = false;
  });

  // Tweets added to the list by anyone else (older pages): whatever waits and is now shown, goes.
  new MutationObserver(function () {
    var shown = shownIds();
    var waiting = pending.filter(function (t) { return !shown[String(t.id)]; });
    if (waiting.length !== pending.length) {
      pending = waiting;
      render();
    }
  }).observe(timeline, { childList: true });

  window.TweetHubLive.on("open", function () {
    window.TweetHubLive.send({ type: "catch_up", after: newestId() });
  });
  window.TweetHubLive.on("tweet.new", queue);
  window.TweetHubLive.on("tweet.catch_up", function (payload) {
    (payload.tweets || []).forEach(queue);
  });
  window.TweetHubLive.on("tweet.deleted", function (payload) {
    var key = String(payload.id);
    pending = pending.filter(function (t) { return String(t.id) !== key; });
    render();
    var node = document.getElementById("tweet-" + key);
    if (node && node.parentNode && node.parentNode.parentNode === timeline) {
      timeline.removeChild(node.parentNode);
    }
  });
})();

// Lists of tweets (home, profile, tag, search) and a tweet's own page: ask before deleting a tweet,
// the same way everywhere, and load older tweets as the reader nears the end of a list.
//
// Progressive enhancement only; loaded with <script defer> beside the list, no inline script or
// handlers (the site's CSP forbids them).
// - Delete: without this file the owner's Delete button (a GET form) opens a page that asks
//   (GET /tweets/<id>/delete/). With it, the browser asks with confirm() and, on OK, submits the
//   hidden POST form beside the button (its CSRF token included): the request that page sends.
// - Older tweets: without this file the "Older tweets" link opens the next page (and pressed, it
//   still does). With it, when the link comes near the viewport, the next page's HTML is fetched,
//   its tweets are appended to the list marked data-more-list and the pager (data-more-pager) is
//   replaced by the next page's pager, or by its end marker (data-more-end: "You're all caught
//   up"). The tweets are the server's own HTML, escaped there: static/js/ages.js sees them arrive
//   (MutationObserver) and static/js/timeline.js finds them by id like any other (deletions
//   pushed live, and no "new tweets" for them).
(function () {
  "use strict";
  if (window.TweetHubTweetList) return; // on a page twice: one question per click, one loader
  window.TweetHubTweetList = true;

  // --- Delete, after a question -----------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-delete-tweet")) return;
    var post = form.parentNode && form.parentNode.querySelector("form[data-delete-form]");
    if (!post) return; // no POST form at hand: the GET form opens the question page
    event.preventDefault();
    if (window.confirm("Delete this tweet?\n\nIt leaves your profile and everyone's timelines. This cannot be undone.")) {
      post.submit();
    }
  });

  // --- Older tweets, as the reader scrolls ------------------------------------------------------

  // Start fetching this far before the pager scrolls into view, so the reader rarely waits (not
  // more: a first page of 20 tweets must not load the next one before anyone scrolled).
  var AHEAD = "0px 0px 400px 0px";
  var list = document.querySelector("[data-more-list]");
  var pager = document.querySelector("[data-more-pager]");
  if (!list || !pager || !("IntersectionObserver" in window)) return;

  var loading = false;
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  list.parentNode.insertBefore(status, list.nextSibling);

  var observer = new IntersectionObserver(function (entries) {
    if (entries.some(function (entry) { return entry.isIntersecting; })) load();
  }, { rootMargin: AHEAD });

  function shownIds() {
    var ids = {};
    list.querySelectorAll("li:not(.tweet-list-pinned) > [data-tweet-id]").forEach(function (node) {
      ids[node.dataset.tweetId] = true;
    });
    return ids;
  }

  function watch(node) {
    pager = node;
    observer.observe(pager);
  }

  function append(doc) {
    var incoming = doc.querySelector("[data-more-list]");
    var shown = shownIds();
    var here = window.location.pathname + window.location.search;
    var added = [];
    Array.from(incoming ? incoming.children : []).forEach(function (item) {
      var tweet = item.querySelector("[data-tweet-id]");
      if (item.classList.contains("tweet-list-pinned") || (tweet && shown[tweet.dataset.tweetId])) return;
      // The owner's forms return to the page they were on: this one, not the fetched one.
      item.querySelectorAll('input[name="next"]').forEach(function (input) {
        input.value = here;
      });
      added.push(list.appendChild(document.adoptNode(item)));
    });
    return added;
  }

  function load() {
    var link = pager && pager.querySelector("a[href]");
    if (!link || loading) return;
    loading = true;
    pager.setAttribute("aria-busy", "true");
    var hadFocus = pager.contains(document.activeElement);
    fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var added = append(doc);
        var next = doc.querySelector("[data-more-pager]") || doc.querySelector("[data-more-end]");
        observer.unobserve(pager);
        var old = pager;
        pager = null;
        if (next) {
          next = document.adoptNode(next);
          old.replaceWith(next);
        } else {
          old.remove();
        }
        status.textContent = added.length === 1 ? "1 older tweet loaded" : added.length + " older tweets loaded";
        if (hadFocus && added.length) {
          // A keyboard reader tabbed to the link (which scrolled it near): go on with the first
          // tweet that arrived rather than lose the focus with the link.
          var first = added[0].querySelector(".tweet-author");
          if (first) first.focus();
        }
        loading = false;
        // Observing reports at once whether the new pager is near: a short page loads the next too.
        if (next && next.hasAttribute("data-more-pager")) watch(next);
      })
      .catch(function () {
        // Offline or a server error: the link still opens the next page, and scrolling away and
        // back to it tries again.
        if (pager) pager.removeAttribute("aria-busy");
        status.textContent = "Older tweets could not be loaded.";
        loading = false;
      });
  }

  watch(pager);
})();

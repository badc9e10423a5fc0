"""Hostile input (issue 9): an XSS corpus written into every field people can fill (display name,
bio, location, website, tweets with #tags and @mentions beside the payloads, direct messages, mail
subjects, bodies, addresses and headers), rendered in a real browser on every page that shows it,
loaded and arriving live over the websocket. Nothing may run, and everything must show as the text
it is. Two smaller tests close the file: a very long word must not widen any page (a layout that
slides sideways on a phone), and NUL must be refused by the profile service, not crash Postgres.

How "nothing ran" is told, on every page (`Guard.check`):
- every executable payload sets `window.__xss`; an init script in every frame turns that global
  into a trap that reports to the test (an exposed binding), so a hit is caught even on a page the
  test has already left, and `window.__xss` itself must still read 0;
- any alert/confirm/prompt is a hit; so is a `securitypolicyviolation` event (a CSP block still
  means our HTML carried executable markup: CSP is defence in depth, not the defence);
- the DOM is audited: no inline or foreign <script>, no on* attribute, no javascript:/data:/vbscript:
  URL, no <base>, <object>, <style>, <meta http-equiv>, <math>, unexpected <iframe>..., no user text
  inside a comment, @handles still read left to right (no bidi override leaking out of a name),
  nothing pushing the page wider than the window;
- no request leaves the machine (they are aborted and reported), no console error, no exception.
And "shows as text": the payload is in the page's visible text (innerText of <main>), in the
title and the meta description where a page puts it there, and in form fields as their value.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Route, expect
from pytest_django import Settings

from accounts.models import User
from accounts.services import location_share, profile_update
from follows.services import follow_create
from mailcatcher.models import CapturedMail
from messaging.services import message_send
from notifications.models import Notification
from tests.browser.conftest import LiveServer, _watch, assert_clean, screenshot
from tests.factories import PASSWORD, make_user
from tests.waiting import eventually
from tweets.models import Tweet
from tweets.services import tweet_create
from tweets.views import clean_query

pytestmark = pytest.mark.browser

# --- The corpus ----------------------------------------------------------------------------------
# Each executable payload sets window.__xss (or opens a dialog) if the browser ever runs it. Fields
# shorter than a payload get its beginning (a cut payload is hostile input too).
CORPUS: tuple[str, ...] = (
    "<script>window.__xss=1</script>",
    "<ScRiPt>window.__xss=1</sCrIpT>",
    "<scr<script>ipt>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "'><img src=x onerror='window.__xss=1'>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=window.__xss=1>",
    "<svg/onload=__xss=1>",
    "<body onload=window.__xss=1>",
    "<details open ontoggle=window.__xss=1>",
    "<input autofocus onfocus=window.__xss=1>",
    '"onmouseover="window.__xss=1" x="',
    "javascript:window.__xss=1",
    '<a href="javascript:window.__xss=1">click me</a>',
    "</textarea><script>window.__xss=1</script>",
    "</title><script>window.__xss=1</script>",
    "</script><script>window.__xss=1</script>",
    "]]><script>window.__xss=1</script>",
    "<!-- everything after this is a comment",
    "--><script>window.__xss=1</script><!--",
    "<!--tweet:actions--><!--tweet:age-->",  # the tweet cache's own markers (tweets.rendering)
    "<style>main{display:none}</style>",
    '<iframe srcdoc="<script>parent.__xss=1</script>">',
    '<math><mi xlink:href="javascript:window.__xss=1">tap</mi></math>',
    '<object data="javascript:window.__xss=1">',
    "<base href=//evil.example/>",
    '<meta http-equiv=refresh content="0;url=javascript:window.__xss=1">',
    "<form action=javascript:window.__xss=1><button>Go</button></form>",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    "<template><script>window.__xss=1</script></template>",
    "{{7*7}} {% debug %} ${7*7} #{7*7}",
    "'-alert(1)-'",
    '";alert(1);//',
    "`-alert(1)-`",
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "&#60;script&#62;window.__xss=1&#60;/script&#62;",
    "%3Cscript%3Ewindow.__xss=1%3C/script%3E",
    r"\u003cscript\u003ewindow.__xss=1\u003c/script\u003e",
    "data:text/html,<script>window.__xss=1</script>",
    'https://example.com/?q="><script>window.__xss=1</script>',
    "https://example.com/'onmouseover='window.__xss=1'/&quot;x",
    "right to left \u202etxt.exe\u202c override",
    "\u202e<b>reversed</b> and never closed",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060<scr\u200bipt>",
    "\uff3a\uff41\uff4c\uff47\uff4f Z\u0336\u0322a\u0337l\u0335g\u0334o 👩\u200d👩\u200d👧\u200d👦",  # fullwidth, Zalgo, a ZWJ emoji
    "W" * 300,  # one very long unbroken word
)

# Websites the profile accepts (http(s) URLs) though they try to break out of the href.
WEBSITES = (
    'https://example.com/?q="><script>window.__xss=1</script>',
    "https://example.com/'onmouseover='window.__xss=1'",
    "https://example.com/#<svg/onload=window.__xss=1>",
    "https://\u0435\u0445\u0430mple.com/",  # Cyrillic letters: a homoglyph domain is still just text
)
# Websites it must refuse: a link that runs script when clicked.
REFUSED_WEBSITES = (
    "javascript:window.__xss=1",
    "JavaScript:window.__xss=1",
    "javascript://example.com/%0Awindow.__xss=1",
    "data:text/html,<script>window.__xss=1</script>",
    "vbscript:msgbox(1)",
)

# --- Watching the browser ------------------------------------------------------------------------

TRAP = """(() => {
  let value = 0;
  const hit = (what) => { try { window.__xssHit(what); } catch (error) { /* binding gone */ } };
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get: () => value,
    set: (next) => { value = next; hit("window.__xss = " + next); },
  });
  document.addEventListener("securitypolicyviolation", (event) =>
    hit(`CSP ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}: ${event.sample}`));
})();"""

AUDIT = """() => {
  const bad = [];
  const banned = new Set(["BASE", "OBJECT", "EMBED", "FRAME", "FRAMESET", "APPLET", "PORTAL", "STYLE",
    "NOSCRIPT", "MATH", "TEMPLATE", "XMP", "PLAINTEXT", "LISTING", "FOREIGNOBJECT", "ANIMATE", "SET"]);
  const urlAttributes = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "poster",
    "background", "srcset", "ping", "codebase", "cite"]);
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toUpperCase();
    if (banned.has(tag)) bad.push(`<${el.tagName}> element`);
    if (tag === "SCRIPT") {
      const src = el.src ? new URL(el.src) : null;
      if (!src || src.origin !== location.origin || !src.pathname.startsWith("/static/")) {
        bad.push(`script ${el.src || el.textContent.slice(0, 60)}`);
      }
    }
    if (tag === "IFRAME" && !(el.matches("iframe.mail-html-frame[sandbox]") && !el.sandbox.contains("allow-scripts")
        && !el.sandbox.contains("allow-same-origin"))) {
      bad.push(`iframe ${el.outerHTML.slice(0, 80)}`);
    }
    if (tag === "META" && el.hasAttribute("http-equiv")) bad.push("meta http-equiv");
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName} ${name}=${attr.value}`);
      if (urlAttributes.has(name) && /^(javascript|vbscript|data):/.test(attr.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase())) {
        bad.push(`${el.tagName} ${name}=${attr.value}`);
      }
    }
  }
  const comments = document.createTreeWalker(document, NodeFilter.SHOW_COMMENT);
  while (comments.nextNode()) {
    if (/xss|alert|W{30}/.test(comments.currentNode.data)) bad.push(`user text in a comment: ${comments.currentNode.data}`);
  }
  // An @handle must read left to right: a bidi override in a name must not leak out of it.
  for (const el of document.querySelectorAll(".handle, .tweet-handle, .person-handle, .dm-handle, .dm-row-handle")) {
    const text = el.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) continue;
    let left = -Infinity;
    for (let i = 0; i < text.length; i++) {
      const range = document.createRange();
      range.setStart(text, i);
      range.setEnd(text, i + 1);
      const x = range.getBoundingClientRect().left;
      if (x < left - 0.5) { bad.push(`${el.className} "${text.data}" is shown right to left`); break; }
      left = x;
    }
  }
  const root = document.documentElement;
  const layout = [];
  if (root.scrollWidth > root.clientWidth + 1) {
    // Name the element holding the text that sticks out.
    const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let culprit = null;
    while (!culprit && texts.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(texts.currentNode);
      if (range.getBoundingClientRect().right > root.clientWidth + 1) culprit = texts.currentNode.parentElement;
    }
    layout.push(`page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window`
      + (culprit ? ` (text in ${culprit.tagName.toLowerCase()}.${[...culprit.classList].join(".")})` : ""));
  }
  const description = document.querySelector('meta[name="description"]');
  return {
    xss: window.__xss,
    bad,
    layout,
    text: (document.querySelector("main") || document.body).innerText,
    title: document.title,
    description: description ? description.content : null,
  };
}"""

URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)


def _words(text: str) -> str:
    return " ".join(text.split())


def _pieces(text: str) -> list[str]:
    """What must be visible of a text: all of it, except that links show their address shortened
    (tweets and messages) so only the text around each URL is looked for."""
    return [piece for part in URL_IN_TEXT.split(text) if (piece := _words(part))]


def _expected(texts: list[str], linked: list[str]) -> list[str]:
    return [_words(text) for text in texts if _words(text)] + [piece for text in linked for piece in _pieces(text)]


@dataclass
class Guard:
    """What hostile text managed to do in one browser context (see the module docstring)."""

    live_url: str
    hits: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)
    pages: int = 0  # page states audited
    shown: int = 0  # texts confirmed visible as text, one per text and page

    def check(
        self,
        page: Page,
        where: str,
        texts: Iterable[str] = (),
        *,
        linked: Iterable[str] = (),
        title: str | None = None,
        description: str | None = None,
    ) -> str:
        """Audit the page as it is now; return its visible text (whitespace collapsed). `texts` must
        show whole; `linked` (tweets, messages) may show their URLs shortened."""
        page.wait_for_load_state("load")
        # One more frame: autofocus, <details ontoggle> and the like fire just after parsing.
        page.evaluate("new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")
        state: dict[str, Any] = page.evaluate(AUDIT)
        assert not state["xss"], f"{where}: window.__xss = {state['xss']!r}"
        assert self.hits == [], f"{where}: {self.hits}"
        assert state["bad"] == [], f"{where}: {state['bad']}"
        # Layout damage is collected and asserted at the end of the test, so one overflow does not
        # hide what the other pages would show.
        self.layout.extend(f"{where}: {problem}" for problem in state["layout"])
        assert self.outside == [], f"{where}: requests left the machine: {self.outside}"
        shown = _words(state["text"])
        texts, linked = list(texts), list(linked)
        missing = [piece for piece in _expected(texts, linked) if piece not in shown]
        assert missing == [], f"{where}: not shown as text: {missing}"
        if title is not None:
            assert _words(title) in _words(state["title"]), f"{where}: title {state['title']!r}"
        if description is not None:
            assert state["description"] == description, f"{where}: description {state['description']!r}"
        self.pages += 1
        self.shown += len(texts) + len(linked) + (title is not None) + (description is not None)
        return shown

    def visit(self, page: Page, path: str, where: str | None = None, **check: Any) -> str:
        response = page.goto(self.live_url + path)
        assert response is not None
        assert response.status < 500, f"{path}: {response.status}"
        return self.check(page, where or path, **check)

    def visit_all(
        self, page: Page, path: str, more: str, texts: Iterable[str] = (), *, linked: Iterable[str] = ()
    ) -> str:
        """A paged list: audit every page (following its `more` link), and look for the texts
        across all of them."""
        seen = [self.visit(page, path)]
        while (link := page.get_by_role("link", name=more, exact=True)).count():
            link.click()
            seen.append(self.check(page, f"{path} (then {page.url})"))
        shown = " ".join(seen)
        texts, linked = list(texts), list(linked)
        missing = [piece for piece in _expected(texts, linked) if piece not in shown]
        assert missing == [], f"{path} and its next pages: not shown as text: {missing}"
        self.shown += len(texts) + len(linked)
        return shown


def _arm(context: BrowserContext, live: LiveServer) -> Guard:
    guard = Guard(live_url=live.url)

    def on_hit(source: dict[str, Any], what: str) -> None:
        guard.hits.append(f"{what} (in {source['frame'].url})")

    def on_dialog(dialog: Dialog) -> None:
        guard.hits.append(f"{dialog.type}({dialog.message!r}) on {dialog.page.url if dialog.page else '?'}")
        dialog.dismiss()

    def outside(route: Route) -> None:
        # Reported for our own pages only: a hostile mail's HTML may try, inside its frame.
        request = route.request
        if request.frame.parent_frame is None:
            guard.outside.append(request.url)
        route.abort()

    context.expose_binding("__xssHit", on_hit)
    context.add_init_script(TRAP)
    context.on("dialog", on_dialog)
    context.route(re.compile(rf"^(?!{re.escape(live.url)}/)[a-z]+://"), outside)
    return guard


def _sign_in(page: Page, live: LiveServer, user: User | None) -> None:
    """Become `user` in this browser (None: a logged-out visitor). The login form has its own
    tests; here only the pages behind it are under test."""
    page.context.clear_cookies()
    if user is not None:
        client = Client()
        client.force_login(user)
        page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url}])


def _tweet_text(payload: str, mention: str) -> str:
    """A tweet carrying the payload alone, glued to a #tag and glued to an @mention."""
    text = f"#hostile {payload} #near{payload} @{mention}{payload}"
    return text if len(text) <= 280 else f"#hostile {payload}"[:280]


def _hostile_people() -> list[User]:
    """One account per payload: the payload in its display name, bio and location (each cut to
    the field's length), a website that tries to break out of its href."""
    people = []
    for n, payload in enumerate(CORPUS):
        user = make_user(f"x{n:02d}")
        people.append(
            profile_update(
                user=user, name=payload[:50], bio=payload[:160], location=payload[:30],
                website=WEBSITES[n % len(WEBSITES)],
            )
        )  # fmt: skip
    return people


def _until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


# --- Pages ---------------------------------------------------------------------------------------


def test_hostile_text_shows_as_inert_text_on_every_page(page: Page, live_with_worker: LiveServer) -> None:
    live = live_with_worker
    guard = _arm(page.context, live)
    reader = make_user("reader", name="Rita Reader")
    scout = make_user("scout", name="Sam Scout")
    staff = make_user("ops", name="Ops", is_staff=True)
    people = _hostile_people()
    by_name = {person.username: person for person in people}
    # reader follows everyone hostile and they all follow back; scout follows reader, and reader
    # scout: the hostile accounts are scout's suggestions, friends of friends and followers of
    # followers. Six of them share a position near scout's.
    follow_create(follower=scout, followee=reader)
    follow_create(follower=reader, followee=scout)
    for person in people:
        follow_create(follower=reader, followee=person)
        follow_create(follower=person, followee=reader)
    location_share(user=scout, latitude=51.50, longitude=-0.12)
    for n, person in enumerate(people[:6]):
        location_share(user=person, latitude=51.50 + 0.01 * (n + 1), longitude=-0.12)
    tweets: list[Tweet] = []
    for n, (person, payload) in enumerate(zip(people, CORPUS, strict=True)):
        tweets.append(tweet_create(author=person, text=_tweet_text(payload, people[(n + 1) % len(people)].username)))
        message_send(sender=person, recipient=reader, text=payload)
    tweet_texts = [tweet.text for tweet in tweets]
    names = [person.name for person in people]

    # Profiles, as reader: every field, the page title and its meta description.
    _sign_in(page, live, reader)
    for person, tweet in zip(people, tweets, strict=True):
        guard.visit(
            page, f"/@{person.username}/",
            texts=[person.name, person.bio, person.location, person.website], linked=[tweet.text],
            title=person.name, description=person.bio,
        )  # fmt: skip
        website = page.locator(".profile-meta a:not(.profile-report)")
        expect(website).to_have_text(person.website)
        expect(website).to_have_attribute("href", person.website)
        if person.username == "x00":
            screenshot(page, "xss-profile")

    # Home timeline (the worker fans the tweets out), each tweet's page, the tag pages.
    guard.visit_all(page, "/", "Older tweets", texts=names, linked=tweet_texts)
    page.goto(live.url + "/")
    screenshot(page, "xss-home")
    for tweet in tweets:
        guard.visit(page, f"/tweets/{tweet.pk}/", texts=[tweet.author.name], linked=[tweet.text])
    screenshot(page, "xss-tweet-detail")
    guard.visit_all(page, "/tags/hostile/", "Older tweets", linked=tweet_texts)
    guard.visit_all(page, "/tags/near/", "Older tweets")
    guard.visit(page, "/trending/")

    # Search: every tweet by its tag; people by a payload (the query comes back in the form and
    # in the "no results" sentence too).
    guard.visit_all(page, "/search/?q=hostile", "Older tweets", linked=tweet_texts)
    for payload in CORPUS[:: len(CORPUS) // 8]:
        guard.visit(page, "/search/?" + _query(q=payload), title=clean_query(payload))
        expect(page.get_by_label("Search people and tweets")).to_have_value(clean_query(payload))

    # Followers and following lists, and reader's own discover lists.
    for path in ("/@reader/followers/", "/@reader/following/", "/discover/followers/", "/discover/following/"):
        guard.visit_all(page, path, "Show more", texts=[*names, *(person.bio for person in people)])

    # Direct messages: the inbox (names and previews) and every conversation.
    guard.visit_all(page, "/messages/", "Older conversations", texts=[*names, *(_words(p)[:100] for p in CORPUS)])
    screenshot(page, "xss-inbox")
    for person, payload in zip(people, CORPUS, strict=True):
        guard.visit(
            page,
            f"/messages/{person.username}/",
            texts=[person.name],
            linked=[payload],
            title=f"Messages with {person.name}",
        )
    page.goto(live.url + "/messages/x00/")
    screenshot(page, "xss-conversation")

    # Notifications (issue 21): each hostile sender is named in their direct-message group.
    assert eventually(lambda: Notification.objects.filter(recipient=reader, kind="message").count() == len(people))
    guard.visit_all(page, "/notifications/", "Older notifications", texts=names)
    screenshot(page, "xss-notifications")

    # Discover, as scout: suggestions, friends of friends, followers of followers, nearby.
    _sign_in(page, live, scout)
    shown = guard.visit(page, "/discover/")
    suggested = page.locator(".person-handle").all_inner_texts()
    assert len(suggested) == 10
    for handle in suggested:
        person = by_name[handle.removeprefix("@")]
        assert _words(person.name) in shown
        assert _words(person.bio) in shown
    for path in ("/discover/friends-of-friends/", "/discover/followers-of-followers/"):
        guard.visit_all(page, path, "Show more", texts=[*names, *(person.bio for person in people)])
    guard.visit(page, "/discover/nearby/", texts=[person.name for person in people[:6]])
    screenshot(page, "xss-nearby")

    # Nobody logged in: a profile and a tweet page.
    _sign_in(page, live, None)
    guard.visit(page, "/@x03/", texts=[people[3].name, people[3].bio], title=people[3].name)
    guard.visit(page, f"/tweets/{tweets[3].pk}/", linked=[tweets[3].text])

    # Staff: the admin panel overview (newest accounts are listed there).
    _sign_in(page, live, staff)
    guard.visit(page, "/admin/")

    # Payloads in URLs and query strings come back as text, or as a plain 404.
    _sign_in(page, live, reader)
    for payload in (CORPUS[0], CORPUS[3], CORPUS[13]):
        guard.visit(page, "/messages/?" + _query(to=payload), texts=[payload])
        expect(page.get_by_label("Username to message")).to_have_value(payload)
        guard.visit(page, "/messages/" + _path(payload) + "/")
        guard.visit(page, "/tags/" + _path(payload) + "/")
        guard.visit(page, "/@" + _path(payload) + "/")
    _sign_in(page, live, staff)
    for payload in (CORPUS[0], CORPUS[3]):
        guard.visit(page, "/admin/mails/?" + _query(to=payload), texts=[payload])

    assert guard.hits == []
    assert_clean(page)


def _query(**params: str) -> str:
    return urlencode(params)


def _path(text: str) -> str:
    return quote(text, safe="")


# --- Forms and live updates ----------------------------------------------------------------------


def test_hostile_input_through_the_forms_and_arriving_live(
    page: Page, other_page: Page, live_with_worker: LiveServer
) -> None:
    live = live_with_worker
    guard, other_guard = _arm(page.context, live), _arm(other_page.context, live)
    reader = make_user("reader", name="Rita Reader")
    writer = make_user("writer", name="Will Writer")
    author = make_user("author", name="Ann Author")
    follow_create(follower=reader, followee=author)

    # The profile form: payloads typed into every field are saved, shown back in the form as
    # values (a </textarea> in the bio must stay inside the textarea), and on the profile.
    _sign_in(page, live, writer)
    guard.visit(page, "/settings/profile/")
    fields = {
        "Display name": "</textarea><script>window.__xss=1</script>",
        "Bio": "</textarea><img src=x onerror=window.__xss=1> \u202eevil\u202c {{7*7}} <!--",
        "Location": '"><svg onload=window.__xss=1>',
        "Website": WEBSITES[0],
    }
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    guard.check(page, "saved profile form")
    for label, value in fields.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    screenshot(page, "xss-settings-profile")
    guard.visit(page, "/@writer/", texts=list(fields.values()), title=fields["Display name"])

    # A website that would run script when clicked is refused, the typed text coming back as the
    # field's value; a NUL character in the name is refused too.
    for website in REFUSED_WEBSITES:
        guard.visit(page, "/settings/profile/")
        page.get_by_label("Website", exact=True).fill(website)
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Enter a valid URL.")).to_be_visible()
        guard.check(page, f"refused website {website!r}")
        expect(page.get_by_label("Website", exact=True)).to_have_value(website)
    writer.refresh_from_db()
    assert writer.website == WEBSITES[0]
    guard.visit(page, "/settings/profile/")
    page.get_by_label("Display name", exact=True).fill("nul\x00name")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Null characters are not allowed.")).to_be_visible()
    guard.check(page, "refused NUL in the display name")

    # The tweet form: a payload tweet is posted; a too-long one comes back in the textarea whole.
    compose = page.get_by_label("What is happening?")
    posted = "#hostile </textarea><script>window.__xss=1</script> @reader<img src=x onerror=alert(1)>"
    guard.visit(page, "/")
    compose.fill(posted)
    page.get_by_role("button", name="Tweet", exact=True).click()
    expect(page.get_by_text("Your tweet is posted.")).to_be_visible()
    guard.check(page, "home after tweeting", linked=[posted])
    too_long = "</textarea><script>window.__xss=1</script>" + "W" * 260
    compose.fill(too_long)
    # The Tweet button waits past the limit (static/js/compose.js): send it as a script-less
    # browser would, so the server's refusal page is what gets checked.
    expect(page.get_by_role("button", name="Tweet", exact=True)).to_be_disabled()
    page.locator("form.compose-form").evaluate("(form) => form.submit()")
    expect(page.get_by_text("Tweets are at most 280 characters")).to_be_visible()
    guard.check(page, "refused tweet")
    expect(compose).to_have_value(too_long)

    # A tweet arriving live on reader's open home page (static/js/timeline.js inserts its HTML).
    _sign_in(other_page, live, reader)
    other_guard.visit(other_page, "/")
    _until(lambda: _feed_built(other_page, live), "reader's feed to be built")
    expect(other_page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)
    arriving = [_tweet_text(payload, "reader") for payload in CORPUS[:12]]
    for text in arriving:
        tweet_create(author=author, text=text)
    bar = other_page.get_by_role("button", name=f"{len(arriving)} new tweets")
    expect(bar).to_be_visible(timeout=15_000)
    bar.click()
    expect(other_page.locator("#timeline .tweet-arrived")).to_have_count(len(arriving))
    other_guard.check(other_page, "home after live tweets", texts=[author.name], linked=arriving)
    screenshot(other_page, "xss-home-live")

    # Messages arriving live: reader's conversation page (static/js/messages.js places them),
    # then writer's inbox, which refreshes itself when reader answers.
    other_guard.visit(other_page, "/messages/writer/")
    expect(other_page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)
    live_messages = list(CORPUS[12:24])
    for text in live_messages:
        message_send(sender=writer, recipient=reader, text=text)
    expect(other_page.locator(".dm-theirs")).to_have_count(len(live_messages), timeout=15_000)
    other_guard.check(other_page, "conversation after live messages", linked=live_messages)
    screenshot(other_page, "xss-conversation-live")

    guard.visit(page, "/messages/")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)
    answer = other_page.get_by_label("Message", exact=True)
    for text in CORPUS[24:28]:
        answer.fill(text)
        answer.press("Enter")
        expect(other_page.locator(".dm-mine").last).to_contain_text(_pieces(text)[0])
        expect(answer).to_have_value("")
    other_guard.check(other_page, "conversation after sending over the socket", linked=CORPUS[24:28])
    # NUL over the socket (no Django form on that path): refused by the service, explained.
    answer.fill("nul\x00message")
    answer.press("Enter")
    expect(other_page.get_by_text("That text contains a character messages cannot hold (NUL).")).to_be_visible()
    expect(answer).to_have_value("nul\x00message")
    answer.fill("")
    expect(page.locator(".dm-row").filter(has_text="Rita Reader")).to_contain_text(_words(CORPUS[27])[:40])
    guard.check(page, "inbox refreshed live", texts=[_words(CORPUS[27])])

    # And writer, on the conversation, sees reader's next messages arrive.
    guard.visit(page, "/messages/reader/")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=10_000)
    for text in CORPUS[28:32]:
        answer.fill(text)
        answer.press("Enter")
        expect(page.locator(".dm-theirs").last).to_contain_text(_pieces(text)[0])
    guard.check(page, "writer's conversation after live messages", linked=CORPUS[28:32])

    assert guard.hits == []
    assert other_guard.hits == []
    assert_clean(page)
    assert_clean(other_page)


def _feed_built(page: Page, live: LiveServer) -> bool:
    if page.locator("#timeline").get_attribute("data-source") == "feed":
        return True
    page.goto(live.url + "/")
    return False


# --- Mail ----------------------------------------------------------------------------------------

# The mail's HTML document, and documents inside it (an <iframe srcdoc> in the mail: our own pages
# have no srcdoc frame, which the DOM audit checks).
MAIL_HTML_URL = re.compile(r"/admin/mails/\d+/html/|^about:srcdoc$")


def test_hostile_mail_shows_as_text_and_its_html_stays_in_the_sandbox(
    browser: Browser, live_with_worker: LiveServer, settings: Settings
) -> None:
    live = live_with_worker  # the worker sends the reset mail
    settings.MAIL_DELIVERY_BACKEND = ""
    # Our own context, not the `page` fixture's: the mail's HTML document is SUPPOSED to have its
    # scripts and images blocked by its policy, so those console lines are told apart by the
    # document they come from (conftest counts any CSP line in its contexts as a failure).
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.errors = _watch(page)  # type: ignore[attr-defined]
    logged: list[tuple[str, str]] = []
    context.on(
        "console",
        lambda msg: logged.append((msg.location.get("url") or "", msg.text)) if msg.type == "error" else None,
    )
    guard = _arm(context, live)
    staff = make_user("ops", is_staff=True)
    people = [make_user(f"m{n:02d}") for n in range(4)]
    for n, payload in enumerate(CORPUS):
        recipient = people[n % len(people)]
        if n % 4 == 3:  # plain send_mail, the way the site's own code sends
            send_mail(payload, f"{payload}\nhttp://example.com/?q={payload}", None, [recipient.email])
            continue
        message = EmailMultiAlternatives(
            subject=payload,
            # Every fifth mail is HTML only (its HTML version opens by itself).
            body="" if n % 5 == 4 else f"{payload}\nhttp://example.com/?q={payload}",
            # Display names are the payload too (quoted as addresses need, or Django refuses them).
            to=[formataddr((payload[:40], recipient.email))],
            cc=[formataddr((payload[:40], "cc@example.com"))],
            reply_to=[formataddr((payload[:40], "reply@example.com"))],
            headers={"X-Hostile": payload},
        )
        # The HTML part is the payload as raw HTML, the way hostile mail arrives.
        message.attach_alternative(f"<p>Hello</p>{payload}<p>Bye</p>", "text/html")
        message.send()
    mails = list(CapturedMail.objects.order_by("id"))
    assert len(mails) == len(CORPUS)

    _sign_in(page, live, staff)
    guard.visit_all(page, "/admin/mails/", "Older mail", texts=[mail.subject for mail in mails])
    page.goto(live.url + "/admin/mails/")
    screenshot(page, "xss-mail-list")
    for mail in mails:
        guard.visit(
            page, f"/admin/mails/{mail.pk}/", texts=[mail.subject], linked=[mail.text_body], title=mail.subject
        )
        if mail.html_body:
            _open_html(page, mail)
            guard.check(page, f"mail {mail.subject!r} with its HTML open")
    page.goto(f"{live.url}/admin/mails/{mails[0].pk}/")
    _open_html(page, mails[0])
    screenshot(page, "xss-mail-detail")

    # A javascript: link in the HTML part does nothing when clicked, not even in a new tab.
    link_mail = next(mail for mail in mails if mail.subject == CORPUS[13] and mail.html_body)
    page.goto(f"{live.url}/admin/mails/{link_mail.pk}/")
    _open_html(page, link_mail)
    page.frame_locator("iframe.mail-html-frame").get_by_role("link", name="click me").click()
    page.wait_for_timeout(500)
    for other in page.context.pages:
        if other is not page:
            assert other.evaluate("window.__xss") in (None, 0)
            other.close()
    guard.check(page, "after clicking a javascript: link in a mail")

    # Opened on its own, outside the detail page's iframe, the HTML still runs nothing.
    page.goto(f"{live.url}/admin/mails/{mails[0].pk}/html/")
    expect(page.locator("p").first).to_have_text("Hello")
    assert page.evaluate("window.__xss") in (None, 0)

    # The site's own mails carry the display name: sign up with a hostile one, finish from the
    # mailed link, ask for a password reset, and both mails show it as text in their plain and
    # their HTML version (as does the page that finishes the sign-up).
    hostile = "</p><script>window.__xss=1</script><p>"
    page.context.clear_cookies()
    guard.visit(page, "/accounts/signup/")
    page.get_by_label("Display name").fill(hostile)
    page.get_by_label("Username").fill("hostile")
    page.get_by_label("Email address").fill("hostile@example.com")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    guard.check(page, "signed up with a hostile name")
    [finish] = _mails_to("hostile@example.com", count=1)
    guard.visit(page, f"/admin/mails/{finish.pk}/", texts=[f"Hi {hostile},"])
    page.locator(".mail-text a[href*='/accounts/signup/']").first.click()
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    expect(page.get_by_text(hostile, exact=False)).to_be_visible()
    guard.check(page, "the page that finishes a hostile sign-up")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    guard.visit(page, "/accounts/password/reset/")
    page.get_by_role("textbox", name="Email").fill("hostile@example.com")
    page.get_by_role("button", name="Send the link", exact=True).click()
    guard.check(page, "password reset requested")
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    own = _mails_to("hostile@example.com", count=2)
    assert [mail.subject for mail in own] == ["Finish creating your TweetHub account", "Reset your TweetHub password"]
    for mail in own:
        guard.visit(page, f"/admin/mails/{mail.pk}/", texts=[f"Hi {hostile},"])
        page.get_by_text("HTML version").click()
        expect(page.frame_locator("iframe.mail-html-frame").locator("body")).to_contain_text(f"Hi {hostile},")
        guard.check(page, f"{mail.subject} with its HTML open")
    screenshot(page, "xss-mail-reset-hostile-name")

    # What the mail's HTML tried was blocked inside its own document (Chromium logs each block
    # there); nothing else may be logged, and nothing else may fail to load.
    errors = page.errors  # type: ignore[attr-defined]
    ours = [f"{url}: {text}" for url, text in logged if not MAIL_HTML_URL.search(url)]
    assert ours == []
    assert errors.page == []
    assert [url for url in errors.resources if not MAIL_HTML_URL.search(url)] == []
    assert guard.hits == []
    context.close()


def _mails_to(address: str, *, count: int, timeout: float = 20.0) -> list[CapturedMail]:
    """The mails to `address`, oldest first, once `count` of them are captured: the worker sends
    some of them after the request that asked for them has answered."""
    deadline = time.monotonic() + timeout
    while len(mails := list(CapturedMail.objects.filter(to=[address]).order_by("id"))) < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return mails


def _open_html(page: Page, mail: CapturedMail) -> None:
    """Show the mail's HTML version, and check that nothing in it ran."""
    if mail.text_body:  # else it is open already
        page.get_by_text("HTML version").click()
    expect(page.frame_locator("iframe.mail-html-frame").locator("p").first).to_have_text("Hello")
    handle = page.locator("iframe.mail-html-frame").element_handle()
    frame = handle.content_frame() if handle else None
    assert frame is not None
    assert frame.evaluate("window.__xss") in (None, 0), f"mail {mail.subject!r}: its HTML ran script"


# --- Long text and NUL ---------------------------------------------------------------------------

WIDE = "W" * 1000


def test_long_unbroken_text_stays_inside_the_window(
    page: Page, live_with_worker: LiveServer, settings: Settings
) -> None:
    """A word as long as each field allows must wrap or be cut, never make the page wider than the
    window (on a phone the whole layout would slide sideways)."""
    live = live_with_worker
    settings.MAIL_DELIVERY_BACKEND = ""
    guard = _arm(page.context, live)
    reader, scout, staff = make_user("reader"), make_user("scout"), make_user("ops", is_staff=True)
    wide = profile_update(
        user=make_user("wide"), name=WIDE[:50], bio=WIDE[:160], location=WIDE[:30],
        website="https://example.com/" + WIDE[:150],
    )  # fmt: skip
    follow_create(follower=reader, followee=wide)
    follow_create(follower=wide, followee=reader)
    follow_create(follower=scout, followee=reader)
    tweet = tweet_create(author=wide, text="#wide " + WIDE[:274])
    tweet_create(author=wide, text="https://example.com/" + WIDE[:260])
    message_send(sender=wide, recipient=reader, text=WIDE)
    send_mail(WIDE[:300], f"{WIDE}\nhttps://example.com/{WIDE[:300]}", None, [wide.email])
    query = _query(q=WIDE[:100])
    visits = {
        reader: [
            "/@wide/", "/", f"/tweets/{tweet.pk}/", "/tags/wide/", f"/search/?{query}", "/search/?q=wide",
            "/@reader/followers/", "/@wide/following/", "/messages/", "/messages/wide/",
            "/messages/?" + _query(to=WIDE[:100]),
        ],
        scout: ["/discover/", "/discover/friends-of-friends/"],
        staff: ["/admin/mails/", f"/admin/mails/{CapturedMail.objects.get().pk}/", "/admin/mails/?" + _query(to=WIDE[:100])],
    }  # fmt: skip
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        for user, paths in visits.items():
            _sign_in(page, live, user)
            for path in paths:
                guard.visit(page, path, f"{path[:60]} at {width}px")
    page.goto(f"{live.url}/search/?{query}")
    screenshot(page, "xss-search-long-word-phone")
    assert guard.layout == [], "\n".join(guard.layout)

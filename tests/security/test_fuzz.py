"""Hostile values in every query parameter, form field and URL segment never make a 5xx.

Each target is a route and the parameters its view reads (request.GET / request.POST, the forms,
?next=). Hypothesis sends arbitrary unicode (NUL and control characters included; no lone
surrogates, which no browser can send), very long strings, numbers as text (negative, huge,
float, NaN), empty and blank values, valid-looking values (so the services behind the forms run
too), and repeated keys. The client turns an exception into the 500 page (raise_request_exception
off), as the server would, and a 5xx fails the test. Redirects must stay on this site.

Rate limits are raised (conftest.generous_rate_limits: the RATE_LIMIT_* settings and messaging's
MESSAGE_RATE_LIMIT) so that hundreds of posts from one account are not all answered 429 before
reaching the code; a 429 fails the test too, so a new limit is noticed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import PASSWORD
from tests.security.conftest import World, logged_in

# Examples per (target, role). Kept small so the whole file runs in about a minute on 2 cores.
EXAMPLES = 30

Role = Literal["anonymous", "member"]
ROLES: tuple[Role, ...] = ("anonymous", "member")

HOSTILE_WORDS = [
    "", " ", "\t\n", "\x00", "a\x00b", "%00", "\u200b", "\u202e", "\ufeff", "😀" * 3, "Ⅻ", "١٢٣",
    "0", "-1", "-0", "+1", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "0x10", "1_000", "१२",
    "9" * 20, "9" * 400, str(2**63), str(2**63 - 1), str(2**53), str(-(2**63)), "1.5", "1,5", "1.2.3",
    "..", "../../etc/passwd", "//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", "/%2e%2e/", "<script>alert(1)</script>", "' OR 1=1 --",
    "%(name)s", "{0}", "${jndi:x}", "@alice", "alice", "ALICE", "carol", "#hello", "null", "None", "true", "[]", "{}",
]  # fmt: skip

# NUL weighs most: Postgres refuses it in any text parameter, so it is what turns a lookup into a 500.
nasty_char = st.sampled_from(["\x00", "\x00", "\x00", "\x01", "\x1b", "\x7f", "\u2028", "\ufffe", "\U0010ffff"])
with_nasty_char = st.tuples(st.text(max_size=5), nasty_char, st.text(max_size=5)).map("".join)
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_WORDS),
    st.text(),  # any code point but surrogates: NUL, controls, combining marks, astral planes
    with_nasty_char,
    with_nasty_char,
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30),
    st.integers(min_value=-(2**200), max_value=2**200).map(str),
    st.floats().map(str),
    st.tuples(st.text(min_size=1, max_size=3), st.integers(min_value=200, max_value=20_000)).map(
        lambda pair: pair[0] * pair[1]
    ),
)


def value_for(plausible: list[str]) -> st.SearchStrategy[Any]:
    """One value, a repeated key (a list), or a plausible value that gets past the form."""
    single = st.one_of(hostile_text, hostile_text, st.sampled_from(plausible)) if plausible else hostile_text
    return st.one_of(single, st.lists(single, min_size=2, max_size=3))


# Plausible values per field name: they let some examples through the forms into the services.
PLAUSIBLE: dict[str, list[str]] = {
    "before": ["1", "4503599627370495", "373640439259219"],
    "after": ["1.1", "2.5", "0.0", "1.", ".1"],
    "q": ["alice", "#hello", "hello world", "@carol"],
    "to": ["alice", "carol", "@carol", "nobody"],
    "next": ["/", "/@alice/", "/messages/", "//evil.example", "https://evil.example/"],
    "text": ["hello #tag @carol https://example.com", "x" * 281, " \u200b "],
    "name": ["Alice", "A" * 51],
    "bio": ["about me", "b" * 161],
    "location": ["Paris", "l" * 31],
    "website": ["example.com", "https://example.com/x", "http://[::1", "http://999.999.999.999", "ftp://x"],
    "dm_policy": ["everyone", "following", "nobody"],
    "remove_avatar": ["on", "1", "false"],
    "latitude": ["12.3", "-85", "85.01", "90", "1,5"],
    "longitude": ["56.7", "-180", "180.0001", "-0,5"],
    "username": ["alice", "alice@example.com", "fresh_name", "a" * 16],
    "password": [PASSWORD, "wrong"],
    "email": ["fresh@example.com", "alice@example.com", "a@b", "@", "x" * 250 + "@example.com"],
    "password1": ["forged-Pa55-word!", "short"],
    "password2": ["forged-Pa55-word!", "other"],
    "old_password": [PASSWORD, "wrong"],
    "new_password1": ["new-Pa55-word!!", "1"],
    "new_password2": ["new-Pa55-word!!", "2"],
}

# URL segments: any text (percent-encoded into the path) or a huge number.
segment_text = st.one_of(hostile_text.filter(bool), st.sampled_from(["alice", "hello", "following", "x"]))
segment_int = st.one_of(
    st.integers(min_value=0, max_value=2**70).map(str),
    st.sampled_from([0, 2**53, 2**63 - 1, 2**63, 10**30]).map(str),
    st.just("9" * 5000),  # more digits than int() converts
)


@dataclass(frozen=True)
class Target:
    name: str
    method: Literal["GET", "POST"]
    path: Callable[[World], str]  # may contain {segment}
    params: tuple[str, ...] = ()
    segment: st.SearchStrategy[str] | None = None
    avatar: bool = False  # also upload a file of arbitrary bytes as the avatar

    def __str__(self) -> str:
        return self.name


TARGETS = [
    # GET pages with query parameters (every request.GET read, cursors and ?next= included).
    Target("home", "GET", lambda w: "/", ("before",)),
    Target("profile", "GET", lambda w: "/@alice/", ("before",)),
    Target("profile followers", "GET", lambda w: "/@alice/followers/", ("before",)),
    Target("profile following", "GET", lambda w: "/@alice/following/", ("before",)),
    Target("tag", "GET", lambda w: "/tags/hello/", ("before",)),
    Target("search", "GET", lambda w: "/search/", ("q", "before")),
    Target("inbox", "GET", lambda w: "/messages/", ("to", "before")),
    Target("conversation", "GET", lambda w: "/messages/carol/", ("before",)),
    Target("mail inbox", "GET", lambda w: "/admin/mails/", ("to", "before")),
    Target("discover following", "GET", lambda w: "/discover/following/", ("before",)),
    Target("discover followers", "GET", lambda w: "/discover/followers/", ("before",)),
    Target("discover friends-of-friends", "GET", lambda w: "/discover/friends-of-friends/", ("after",)),
    Target("discover followers-of-followers", "GET", lambda w: "/discover/followers-of-followers/", ("after",)),
    Target("login page", "GET", lambda w: "/accounts/login/", ("next",)),
    # URL segments.
    Target("tweet id", "GET", lambda w: "/tweets/{segment}/", segment=segment_int),
    Target("conversation id", "GET", lambda w: "/messages/c/{segment}/", segment=segment_int),
    Target("mail id", "GET", lambda w: "/admin/mails/{segment}/", segment=segment_int),
    Target("tag name", "GET", lambda w: "/tags/{segment}/", segment=segment_text),
    Target("conversation username", "GET", lambda w: "/messages/{segment}/", ("before",), segment=segment_text),
    Target("discover list", "GET", lambda w: "/discover/{segment}/", segment=segment_text),
    Target("verify token", "GET", lambda w: "/accounts/verify/{segment}/", segment=segment_text),
    Target("reset link", "GET", lambda w: "/accounts/password/reset/{segment}/x-y/", segment=segment_text),
    Target("media path", "GET", lambda w: "/media/avatars/{segment}", segment=segment_text),
    # Forms (every request.POST read).
    Target("tweet create", "POST", lambda w: "/tweets/", ("text", "next")),
    Target("tweet unpin", "POST", lambda w: f"/tweets/{w.pinned.pk}/unpin/", ("next",)),
    Target("tweet delete of another's", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/delete/", ("next",)),
    Target("tweet delete, id", "POST", lambda w: "/tweets/{segment}/delete/", ("next",), segment=segment_int),
    Target("follow", "POST", lambda w: "/@erin/follow/", ("next",)),
    Target("unfollow", "POST", lambda w: "/@carol/unfollow/", ("next",)),
    Target("reply", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/reply/", ("text",)),
    Target("reply, id", "POST", lambda w: "/tweets/{segment}/reply/", ("text",), segment=segment_int),
    Target("repost", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/repost/", ("next",)),
    Target("repost, id", "POST", lambda w: "/tweets/{segment}/repost/", ("next",), segment=segment_int),
    Target("unrepost", "POST", lambda w: f"/tweets/{w.carols_tweet_id}/unrepost/", ("next",)),
    Target("unrepost, id", "POST", lambda w: "/tweets/{segment}/unrepost/", ("next",), segment=segment_int),
    Target("quote", "POST", lambda w: f"/tweets/{w.bobs_tweet_id}/quote/", ("text",)),
    Target("quote, id", "POST", lambda w: "/tweets/{segment}/quote/", ("text",), segment=segment_int),
    Target("quote box, id", "GET", lambda w: "/tweets/{segment}/quote/", segment=segment_int),
    Target("repost asking", "GET", lambda w: f"/tweets/{w.bobs_tweet_id}/repost/", ("next",)),
    Target("tweet page, replies", "GET", lambda w: f"/tweets/{w.tweet.pk}/", ("after",)),
    Target("profile tab", "GET", lambda w: "/@alice/", ("tab", "before")),
    Target("block", "POST", lambda w: "/@erin/block/", ("next",)),
    Target("unblock", "POST", lambda w: "/@grace/unblock/", ("next",)),
    Target("mute", "POST", lambda w: "/@erin/mute/", ("next",)),
    Target("unmute", "POST", lambda w: "/@grace/unmute/", ("next",)),
    Target("block, username", "POST", lambda w: "/@{segment}/block/", ("next",), segment=segment_text),
    Target("settings blocked", "GET", lambda w: "/settings/blocked/", ("before",)),
    Target("settings muted", "GET", lambda w: "/settings/muted/", ("before",)),
    Target("send message", "POST", lambda w: "/messages/carol/", ("text",)),
    Target("send message, username", "POST", lambda w: "/messages/{segment}/", ("text",), segment=segment_text),
    Target("signup", "POST", lambda w: "/accounts/signup/", ("name", "username", "email", "password1", "password2")),
    Target("login", "POST", lambda w: "/accounts/login/", ("username", "password", "next")),
    Target("verify resend", "POST", lambda w: "/accounts/verify/resend/", ("next",)),
    Target("password change", "POST", lambda w: "/accounts/password/change/",
           ("old_password", "new_password1", "new_password2")),
    Target("password reset", "POST", lambda w: "/accounts/password/reset/", ("email",)),
    Target("settings profile", "POST", lambda w: "/settings/profile/",
           ("name", "bio", "location", "website", "dm_policy", "remove_avatar"), avatar=True),
    Target("settings location", "POST", lambda w: "/settings/location/", ("latitude", "longitude")),
    # Likes, bookmarks and notifications (issue 21).
    Target("like, id", "POST", lambda w: "/tweets/{segment}/like/", ("next",), segment=segment_int),
    Target("unlike, id", "POST", lambda w: "/tweets/{segment}/unlike/", ("next",), segment=segment_int),
    Target("bookmark, id", "POST", lambda w: "/tweets/{segment}/bookmark/", ("next",), segment=segment_int),
    Target("unbookmark, id", "POST", lambda w: "/tweets/{segment}/unbookmark/", ("next",), segment=segment_int),
    Target("like", "POST", lambda w: f"/tweets/{w.tweet.pk}/like/", ("next",)),
    Target("bookmarks", "GET", lambda w: "/bookmarks/", ("before",)),
    Target("likes tab", "GET", lambda w: "/@alice/likes/", ("before",)),
    Target("likes tab, username", "GET", lambda w: "/@{segment}/likes/", segment=segment_text),
    Target("notifications", "GET", lambda w: "/notifications/", ("before",)),
    Target("notifications mark all read", "POST", lambda w: "/notifications/read/", ("up_to",)),
]  # fmt: skip


def _params(target: Target) -> st.SearchStrategy[dict[str, Any]]:
    """Each parameter absent, hostile, plausible or repeated; sometimes a stray extra key."""
    fields = {name: value_for(PLAUSIBLE.get(name, [])) for name in target.params}
    stray = st.dictionaries(st.sampled_from(["page", "before", "after", "q", "csrfmiddlewaretoken"]), hostile_text)
    return st.tuples(st.fixed_dictionaries({}, optional=fields), stray).map(lambda pair: {**pair[1], **pair[0]})


def _avatar() -> st.SearchStrategy[SimpleUploadedFile | None]:
    png_header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    content = st.one_of(st.binary(max_size=2048), st.binary(max_size=512).map(lambda tail: png_header + tail))
    name = st.one_of(st.sampled_from(["a.png", "a.jpg", "", "a" * 300 + ".png", "../../x.png"]), hostile_text)
    return st.one_of(
        st.none(),
        st.tuples(name, content).map(lambda pair: _upload(*pair)),
    )


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    try:
        return SimpleUploadedFile(name, content, "image/png")
    except SuspiciousFileOperation:  # a name the test client itself refuses to send ("..", "a/")
        return SimpleUploadedFile("x", content, "image/png")


def _check(response: Any, method: str, url: str, data: dict[str, Any]) -> None:
    status = response.status_code
    assert status < 500, f"{method} {url:.300} {data!r:.300} -> {status}"
    assert status != 429, f"{method} {url} hit a rate limit: raise it in generous_rate_limits"
    location = response.headers.get("Location")
    if location:
        where = f"{method} {url:.300} {data!r:.300} redirects off-site: {location!r:.300}"
        assert urlsplit(location).netloc in ("", "testserver"), where
        assert not location.startswith(("//", "/\\")), where


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_hostile_input_never_makes_a_5xx(target: Target, role: Role, world: World, generous_rate_limits: None) -> None:
    (Path(settings.MEDIA_ROOT) / "avatars").mkdir(parents=True)  # as on a site with one avatar
    client = logged_in(world.alice) if role == "member" else Client()
    client.raise_request_exception = False

    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )
    @given(data=st.data())
    def attempt(data: st.DataObject) -> None:
        path = target.path(world)
        if target.segment is not None:
            path = path.format(segment=quote(data.draw(target.segment, label="segment"), safe=""))
        params = data.draw(_params(target), label="params")
        if target.method == "GET":
            response = client.get(path, params)
        else:
            if target.avatar and (upload := data.draw(_avatar(), label="avatar")) is not None:
                params = {**params, "avatar": upload}
            response = client.post(path, params)
        _check(response, target.method, path, params)

    attempt()


def test_fuzz_size() -> None:
    """The figures quoted in the issue's closing note."""
    fields = sum(len(target.params) + (target.segment is not None) + target.avatar for target in TARGETS)
    assert (len(TARGETS), fields, len(ROLES), EXAMPLES) == (67, 99, 2, 30)


# The 500s this fuzz found, pinned as plain examples so they stay fixed whatever Hypothesis draws.
FOUND: list[tuple[str, str, str, dict[str, str]]] = [
    # A NUL in a username lookup: Postgres refuses NUL in text parameters (DataError).
    ("member", "GET", "/messages/", {"to": "carol\x00"}),
    ("member", "GET", "/messages/carol%00/", {}),
    ("member", "POST", "/messages/carol%00/", {"text": "hi"}),
    ("member", "GET", "/admin/mails/", {"to": "alice\x00"}),
    # ?next= without a slash or a dot: redirect() took it for a URL pattern name (NoReverseMatch).
    ("member", "POST", "/tweets/", {"text": "hi", "next": "elsewhere"}),
    ("member", "POST", "/@erin/follow/", {"next": "0"}),
    ("member", "POST", "/@carol/unfollow/", {"next": "a b"}),
    ("member", "POST", "/accounts/verify/resend/", {"next": "#top"}),
    ("anonymous", "POST", "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "home"}),
    # A cursor of more digits than int() converts (4,300): ValueError.
    ("member", "GET", "/admin/mails/", {"before": "9" * 5000}),
    # A file name longer than the file system allows (ENAMETOOLONG from stat, not a 404).
    ("anonymous", "GET", "/media/avatars/" + "a" * 300 + ".webp", {}),
    ("anonymous", "GET", "/media/avatars/" + "a/" * 3000 + "a.webp", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "method", "url", "data"), FOUND, ids=lambda value: repr(value)[:40])
def test_values_that_once_made_a_500(role: Role, method: str, url: str, data: dict[str, str], world: World) -> None:
    (Path(settings.MEDIA_ROOT) / "avatars").mkdir(parents=True)  # as on a site with one avatar
    client = logged_in(world.alice) if role == "member" else Client()
    client.raise_request_exception = False
    response = client.get(url, data) if method == "GET" else client.post(url, data)
    _check(response, method, url, data)


# --- The websocket's client messages ----------------------------------------------------------------

JSON_VALUES: list[Any] = [
    *HOSTILE_WORDS, None, True, False, 0, -1, 1.5, float("inf"), 2**53, 2**63, -(2**70), [], {}, ["carol"], {"a": 1},
]  # fmt: skip
SOCKET_MESSAGES: dict[str, dict[str, Any]] = {  # type -> fields a hostile client varies (the others stay plausible)
    "dm.send": {"to": "carol", "text": "hello"},
    "dm.read": {"with": "carol", "up_to": 1},
    "dm.catch_up": {"with": "carol", "after": 0},
    "catch_up": {"after": 0},
    "badges.get": {"user": 1},  # takes no field: whatever is sent, the answer is the asker's counts
}


@pytest.mark.django_db(transaction=True)
def test_hostile_socket_messages_are_answered_in_words(generous_rate_limits: None, caplog: Any) -> None:
    """Every refusal is the handler's own answer: never the consumer's catch-all, which means a
    handler raised (it logs the traceback and answers "That did not work")."""
    from asgiref.sync import async_to_sync
    from channels.testing.websocket import WebsocketCommunicator

    from tests.factories import make_user
    from tweethub.asgi import application

    alice, _carol = make_user("alice"), make_user("carol")
    cookie = f"{settings.SESSION_COOKIE_NAME}={logged_in(alice).cookies[settings.SESSION_COOKIE_NAME].value}"
    messages: list[Any] = [
        {"type": kind, **plausible, field: value}
        for kind, plausible in SOCKET_MESSAGES.items()
        for field in plausible
        for value in JSON_VALUES
    ]
    messages += [{"type": value} for value in JSON_VALUES]
    messages += [value for value in JSON_VALUES if not isinstance(value, dict)]  # not even an object

    async def exchange() -> list[dict[str, Any]]:
        headers = [(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
        socket = WebsocketCommunicator(application, "/ws/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        replies = []
        for message in messages:
            await socket.send_json_to(message)
            reply = await socket.receive_json_from(timeout=5)
            while reply["event"] == "dm.new":  # a message sent earlier, heard live: not a reply
                reply = await socket.receive_json_from(timeout=5)
            replies.append(reply)
        await socket.disconnect()
        return replies

    replies = async_to_sync(exchange)()
    assert len(replies) == len(messages)
    failures = [(m, r) for m, r in zip(messages, replies, strict=True) if "did not work" in str(r.get("payload"))]
    assert failures == [], failures[:5]
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


RAW_FRAMES: list[str | bytes] = [
    "not json", "{", "", " ", "[1,", "\x00", "null", "NaN", "9" * 5000, '{"type": "catch_up", "after": 1' + "0" * 5000 + "}",
    b"", b"\x00\xff", b'{"type": "catch_up", "after": 0}',
]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_malformed_socket_frames_are_answered_in_words(caplog: Any) -> None:
    """A frame that is not JSON (or JSON Python refuses to read, like a 5,000-digit number) gets an
    error event; the socket stays open and keeps working."""
    from asgiref.sync import async_to_sync
    from channels.testing.websocket import WebsocketCommunicator

    from tests.factories import make_user
    from tweethub.asgi import application

    cookie = (
        f"{settings.SESSION_COOKIE_NAME}={logged_in(make_user('alice')).cookies[settings.SESSION_COOKIE_NAME].value}"
    )

    async def exchange() -> tuple[list[Any], dict[str, Any]]:
        headers = [(b"origin", b"http://localhost"), (b"cookie", cookie.encode())]
        socket = WebsocketCommunicator(application, "/ws/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        replies = []
        for frame in RAW_FRAMES:
            # Below send_to(), which refuses empty frames: a browser can send them.
            await socket.send_input(
                {"type": "websocket.receive", "bytes" if isinstance(frame, bytes) else "text": frame}
            )
            replies.append(await socket.receive_json_from(timeout=5))
        await socket.send_json_to({"type": "catch_up", "after": 0})
        still_working = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return replies, still_working

    replies, still_working = async_to_sync(exchange)()
    assert still_working["event"] == "tweet.catch_up"
    assert [reply["event"] for reply in replies] == ["error"] * len(RAW_FRAMES)
    assert not [record for record in caplog.records if record.levelname == "ERROR"]

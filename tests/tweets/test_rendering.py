"""Tweets are rendered once and shared between readers (tweets.rendering): what one reader's page
shows must never leak into another's, and a cached tweet must never show stale data."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from PIL import Image

from accounts.models import User
from accounts.services import profile_update
from follows.services import follow_create
from tests.factories import make_user
from timelines import announce
from tweethub.redis import client_for
from tweets.cards import cards_for
from tweets.models import Tweet
from tweets.services import tweet_create, tweet_delete, tweet_pin, tweet_unpin

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

SHARED_TEMPLATE = "tweets/_tweet_shared.html"


def _member(username: str, **fields: Any) -> User:
    return make_user(username, last_active=timezone.now(), **fields)


def _home(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def _article(html: str, tweet_id: int) -> str:
    match = re.search(rf'<article [^>]*id="tweet-{tweet_id}".*?</article>', html, re.S)
    assert match is not None, f"tweet {tweet_id} is not on the page"
    return match.group(0)


def _tokens(html: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)


def _profile(user: User, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "name": user.name, "bio": "", "location": "", "website": "",
    }  # fmt: skip
    fields.update(changes)
    profile_update(user=user, **fields)


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(out, format="PNG")
    return SimpleUploadedFile("me.png", out.getvalue(), content_type="image/png")


def test_the_second_view_of_a_page_renders_no_tweet_again(client: Client) -> None:
    """The premise of every other test here: tweets come from the cache once rendered."""
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    for n in range(3):
        tweet_create(author=friend, text=f"hello #{n}x")
    client.force_login(reader)

    first = client.get("/")
    second = client.get("/")

    assert [t.name for t in first.templates].count(SHARED_TEMPLATE) == 3
    assert SHARED_TEMPLATE not in [t.name for t in second.templates]
    assert second.content.decode().count("<article") == 3


def test_a_new_name_or_avatar_shows_at_once(client: Client) -> None:
    reader, friend = _member("reader"), _member("friend", name="Old Name")
    follow_create(follower=reader, followee=friend)
    tweet = tweet_create(author=friend, text="cached soon")
    client.force_login(reader)
    assert "Old Name" in _article(_home(client), tweet.id)  # now in the cache

    _profile(friend, name="New Name")
    shown = _article(_home(client), tweet.id)
    assert "New Name" in shown
    assert "Old Name" not in shown

    _profile(friend, avatar=_png())
    friend.refresh_from_db()
    shown = _article(_home(client), tweet.id)
    assert f'src="{friend.avatar.url}"' in shown
    assert "avatar-initial" not in shown

    _profile(friend, remove_avatar=True)
    shown = _article(_home(client), tweet.id)
    assert "<img" not in shown
    assert "avatar-initial" in shown


def test_a_deleted_tweet_never_shows_and_leaves_the_cache(client: Client) -> None:
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    kept = tweet_create(author=friend, text="staying")
    gone = tweet_create(author=friend, text="regrettable")
    client.force_login(reader)
    assert "regrettable" in _home(client)
    cached = client_for(settings.FEEDS_REDIS_URL)
    assert cached.exists(f"tc:{gone.id}")

    tweet_delete(tweet_id=gone.id, user=friend)

    page = _home(client)
    assert "regrettable" not in page
    assert f"tweet-{gone.id}" not in page
    assert "staying" in _article(page, kept.id)
    assert not cached.exists(f"tc:{gone.id}")  # its text does not outlive it in Redis


def test_viewers_never_get_each_others_controls_or_csrf_tokens() -> None:
    """Both follow each other, so both pages show both tweets from the same cache entries; each
    page has delete/pin forms under its viewer's own tweet only, with that viewer's CSRF token."""
    ann, bob = _member("ann"), _member("bob")
    follow_create(follower=ann, followee=bob)
    follow_create(follower=bob, followee=ann)
    ann_tweet = tweet_create(author=ann, text="by ann")
    bob_tweet = tweet_create(author=bob, text="by bob")
    ann_client, bob_client = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    ann_client.force_login(ann)
    bob_client.force_login(bob)

    ann_page, bob_page = _home(ann_client), _home(bob_client)  # Ann's view fills the cache

    assert f"/tweets/{ann_tweet.id}/delete/" in _article(ann_page, ann_tweet.id)
    assert "/delete/" not in _article(ann_page, bob_tweet.id)
    assert "/pin/" not in _article(ann_page, bob_tweet.id)
    assert f"/tweets/{bob_tweet.id}/delete/" in _article(bob_page, bob_tweet.id)
    assert "/delete/" not in _article(bob_page, ann_tweet.id)
    assert "/pin/" not in _article(bob_page, ann_tweet.id)
    assert "Pin to profile" in _article(bob_page, bob_tweet.id)
    ann_tokens = set(_tokens(_article(ann_page, ann_tweet.id)))
    bob_tokens = set(_tokens(_article(bob_page, bob_tweet.id)))
    assert ann_tokens
    assert bob_tokens
    assert not ann_tokens & bob_tokens

    # Each token works for its own viewer only: Ann's token does not let Bob's browser post.
    pin = f"/tweets/{bob_tweet.id}/pin/"
    assert bob_client.post(pin, {"csrfmiddlewaretoken": ann_tokens.pop()}).status_code == 403
    assert bob_client.post(pin, {"csrfmiddlewaretoken": bob_tokens.pop()}).status_code == 302
    # The owner's controls follow the tweet's state at once (they are never cached).
    assert "Unpin" in _article(_home(bob_client), bob_tweet.id)
    assert "Pin" not in _article(_home(ann_client), bob_tweet.id)


def test_how_old_a_tweet_looks_is_never_cached(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    tweet_create(author=friend, text="time flies")
    client.force_login(reader)
    _home(client)  # rendered and cached now
    real_now = timezone.now
    soon = real_now() + timedelta(minutes=5, seconds=2)
    monkeypatch.setattr(timezone, "now", lambda: soon)
    tweet = Tweet.objects.get(text="time flies")
    shown = _article(_home(client), tweet.id)
    assert ">5m</time>" in shown
    assert "posted 5 minutes ago" in shown

    later = soon + timedelta(hours=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    shown = _article(_home(client), tweet.id)
    assert ">3h</time>" in shown
    assert "posted 3 hours ago" in shown


def test_live_updates_carry_the_same_cached_html_as_the_page(client: Client) -> None:
    reader, friend = _member("reader"), _member("friend", name="Friend <b>bold</b>")
    follow_create(follower=reader, followee=friend)
    tweet = tweet_create(author=friend, text="<i>live</i> #now https://example.com/x @reader")
    hydrated = cards_for([tweet.id], variant="list")[tweet.id]

    sent = announce.render_tweet(hydrated)  # what fan-out sends to online followers: fills the cache
    client.force_login(reader)
    response = client.get("/")

    assert SHARED_TEMPLATE not in [t.name for t in response.templates]
    # The like forms of a pushed tweet carry no CSRF token (static/js/badges.js gives them the page's).
    on_page = re.sub(
        r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1"', _article(response.content.decode(), tweet.id)
    )
    assert on_page == sent.strip()
    assert "&lt;i&gt;live&lt;/i&gt;" in sent
    assert "Friend &lt;b&gt;bold&lt;/b&gt;" in sent


def test_with_the_cache_down_tweets_render_the_same(caplog: pytest.LogCaptureFixture) -> None:
    friend = _member("friend")
    tweet = tweet_create(author=friend, text="still here #ok")
    hydrated = cards_for([tweet.id], variant="list")[tweet.id]
    expected = announce.render_tweet(hydrated)

    with override_settings(FEEDS_REDIS_URL="unix:///nonexistent/redis.sock"):
        from_postgres = cards_for([tweet.id], variant="list")[tweet.id]
        assert from_postgres.html is None
        assert announce.render_tweet(from_postgres) == expected
    assert "tweet cards unavailable" in caplog.text
    assert "could not cache 1 tweet cards" in caplog.text


def test_the_pinned_label_stays_on_the_profile_and_follows_the_pin(client: Client) -> None:
    """A profile's "Pinned" rendering and the plain one of the same tweet are cached apart."""
    reader, friend = _member("reader"), _member("friend")
    follow_create(follower=reader, followee=friend)
    tweet = tweet_create(author=friend, text="pin me")
    tweet_pin(tweet_id=tweet.id, user=friend)
    client.force_login(reader)

    assert 'class="tweet-pinned"' in _article(client.get("/@friend/").content.decode(), tweet.id)
    assert 'class="tweet-pinned"' not in _article(_home(client), tweet.id)
    tweet_unpin(tweet_id=tweet.id, user=friend)
    assert 'class="tweet-pinned"' not in client.get("/@friend/").content.decode()

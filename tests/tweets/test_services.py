"""Posting, deleting and pinning tweets, through the real views and services (real Postgres, Redis).

Each refusal is checked for what a person sees (status and message) and for what did NOT happen
(no row, no counter change).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User, UserStats
from tests.factories import make_user
from tweets import trends
from tweets.models import Tweet

pytestmark = pytest.mark.django_db

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def _client_for(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _tweet(author: User, text: str = "hello", **fields: Any) -> Tweet:
    """A tweet written straight to the table (setup must not depend on the code under test)."""
    return Tweet.objects.create(author=author, text=text, **fields)


def _stats(user: User) -> int:
    return UserStats.objects.filter(user=user).values_list("tweets", flat=True).first() or 0


def _field_errors(html: str) -> list[str]:
    """The messages Django renders beside the text field (ul#id_text_error)."""
    match = re.search(r'<ul class="errorlist" id="id_text_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _textarea(html: str) -> str:
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S)
    assert match, "no textarea on the page"
    return match.group(0)


@pytest.fixture
def ann() -> User:
    return make_user("ann")


@pytest.fixture
def bob() -> User:
    return make_user("bob")


# --- Posting -------------------------------------------------------------------------------------


def test_a_tweet_is_trimmed_saved_counted_and_the_author_sent_home(ann: User) -> None:
    response = _client_for(ann).post("/tweets/", {"text": "  Hello world \n"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "Your tweet is posted." in response.content.decode()
    tweet = Tweet.objects.get()
    assert (tweet.author, tweet.text, tweet.pinned) == (ann, "Hello world", False)
    assert _stats(ann) == 1


def test_exactly_the_limit_after_trimming_is_accepted(ann: User) -> None:
    text = "x" * 280
    response = _client_for(ann).post("/tweets/", {"text": f"\n  {text}  \n"})
    assert response.status_code == 302
    assert Tweet.objects.get().text == text


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n", "\u3000"])
def test_empty_tweets_are_refused_beside_the_field(ann: User, text: str) -> None:
    response = _client_for(ann).post("/tweets/", {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert _field_errors(html) == ["Write something first."]
    assert 'aria-invalid="true"' in _textarea(html)
    assert 'class="form-errors"' not in html  # beside the field, not in a box above the form
    assert not Tweet.objects.exists()
    assert _stats(ann) == 0


def test_an_over_long_tweet_is_refused_with_its_count_and_the_text_kept(ann: User) -> None:
    text = "<b>" + "y" * 278  # 281 characters
    response = _client_for(ann).post("/tweets/", {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert _field_errors(html) == ["Tweets are at most 280 characters (this one has 281)."]
    # The text comes back, escaped, ready to be shortened.
    assert _textarea(html).endswith(f"&lt;b&gt;{'y' * 278}</textarea>")
    assert not Tweet.objects.exists()
    assert _stats(ann) == 0


def test_the_length_limit_is_the_setting(ann: User) -> None:
    client = _client_for(ann)
    with override_settings(TWEET_MAX_LENGTH=10):
        assert client.post("/tweets/", {"text": "x" * 10}).status_code == 302
        response = client.post("/tweets/", {"text": "x" * 11})
        assert response.status_code == 400
        html = response.content.decode()
        assert _field_errors(html) == ["Tweets are at most 10 characters (this one has 11)."]
        # The counter and the help text follow the setting too.
        assert 'data-max-length="10"' in _textarea(html)
        assert "Up to 10 characters." in html
    assert list(Tweet.objects.values_list("text", flat=True)) == ["x" * 10]


def test_characters_are_counted_as_people_see_them_not_as_utf16(ann: User) -> None:
    # 280 emoji: 560 UTF-16 units (what a browser's maxlength would count), 280 characters here.
    response = _client_for(ann).post("/tweets/", {"text": "🙂" * 280})
    assert response.status_code == 302
    assert len(Tweet.objects.get().text) == 280


def test_null_characters_are_refused_not_a_server_error(ann: User) -> None:
    response = _client_for(ann).post("/tweets/", {"text": "a\x00b"})
    assert response.status_code == 400
    assert _field_errors(response.content.decode()) == ["Null characters are not allowed."]
    assert not Tweet.objects.exists()


def test_tags_and_mentions_are_stored_lower_cased(ann: User) -> None:
    text = "Hi @Bob and @CAROL_1, #Django #DJANGO #Café #2024 mail x@y.com https://example.com/#Frag"
    _client_for(ann).post("/tweets/", {"text": text})
    tweet = Tweet.objects.get()
    assert tweet.text == text
    assert tweet.tags == ["django", "café"]
    assert tweet.mentions == ["bob", "carol_1"]


def test_an_unverified_author_gets_403_and_nothing_is_written() -> None:
    newcomer = make_user("newcomer", verified=False)
    response = _client_for(newcomer).post("/tweets/", {"text": "first!"})
    assert response.status_code == 403
    assert "Please confirm your email address first." in response.content.decode()
    assert not Tweet.objects.exists()
    assert _stats(newcomer) == 0


def test_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.post("/tweets/", {"text": "anonymous"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Tweet.objects.exists()


@override_settings(RATE_LIMIT_TWEETS_PER_USER="2/1h")
def test_the_rate_limit_answers_429_and_writes_nothing(ann: User, bob: User) -> None:
    client = _client_for(ann)
    assert client.post("/tweets/", {"text": "one"}).status_code == 302
    assert client.post("/tweets/", {"text": "two"}).status_code == 302
    response = client.post("/tweets/", {"text": "three"})
    assert response.status_code == 429
    assert "You are tweeting very fast." in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert sorted(Tweet.objects.values_list("text", flat=True)) == ["one", "two"]
    assert _stats(ann) == 2
    # The limit is per author.
    assert _client_for(bob).post("/tweets/", {"text": "mine"}).status_code == 302


def test_tags_trend_once_the_tweet_is_committed(ann: User, django_capture_on_commit_callbacks: OnCommit) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _client_for(ann).post("/tweets/", {"text": "#Django and #python, #django again"})
    # fan-out sent from the outbox, card cached, own feed written, trends counted (the panel counts
    # tweets in SQL)
    assert len(callbacks) == 4
    assert [tag for tag, _ in trends.top()] == ["django", "python"]


def test_a_refused_tweet_queues_nothing(ann: User, django_capture_on_commit_callbacks: OnCommit) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _client_for(ann).post("/tweets/", {"text": "#late " + "x" * 300})
    assert callbacks == []
    assert trends.top() == []


def test_next_keeps_the_author_where_they_were_but_only_on_this_site(ann: User) -> None:
    client = _client_for(ann)
    response = client.post("/tweets/", {"text": "a", "next": "/tags/django/"})
    assert response["Location"] == "/tags/django/"
    response = client.post("/tweets/", {"text": "b", "next": "https://evil.example/"})
    assert response["Location"] == "/"


# --- Deleting ------------------------------------------------------------------------------------


def test_deleting_your_tweet_removes_it_and_counts_exactly(ann: User) -> None:
    client = _client_for(ann)
    for text in ("one", "two", "three"):
        client.post("/tweets/", {"text": text})
    assert _stats(ann) == 3
    doomed = Tweet.objects.get(text="two")
    response = client.post(f"/tweets/{doomed.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/@ann/", 302)]
    assert "Your tweet is deleted." in response.content.decode()
    assert client.get(f"/tweets/{doomed.pk}/").status_code == 404
    assert sorted(Tweet.objects.values_list("text", flat=True)) == ["one", "three"]
    assert _stats(ann) == 2
    # Deleting it again: it is gone, not "forbidden", and the count stays exact.
    assert client.post(f"/tweets/{doomed.pk}/delete/").status_code == 404
    assert _stats(ann) == 2


def test_deleting_from_a_list_returns_to_it_but_not_to_the_deleted_tweets_page(ann: User) -> None:
    client = _client_for(ann)
    first, second = _tweet(ann, "first"), _tweet(ann, "second")
    response = client.post(f"/tweets/{first.pk}/delete/", {"next": "/tags/x/?before=5"})
    assert response["Location"] == "/tags/x/?before=5"
    response = client.post(f"/tweets/{second.pk}/delete/", {"next": f"/tweets/{second.pk}/"})
    assert response["Location"] == "/@ann/"


def test_deleting_someone_elses_tweet_is_forbidden_and_changes_nothing(ann: User, bob: User) -> None:
    _client_for(bob).post("/tweets/", {"text": "bob's"})
    tweet = Tweet.objects.get()
    response = _client_for(ann).post(f"/tweets/{tweet.pk}/delete/")
    assert response.status_code == 403
    assert "That is not your tweet." in response.content.decode()
    assert Tweet.objects.filter(pk=tweet.pk).exists()
    assert (_stats(ann), _stats(bob)) == (0, 1)


@pytest.mark.parametrize("tweet_id", ["1", "999999999999", "99999999999999999999999999"])
def test_deleting_an_unknown_tweet_is_404(ann: User, tweet_id: str) -> None:
    _tweet(ann)
    assert _client_for(ann).post(f"/tweets/{tweet_id}/delete/").status_code == 404
    assert Tweet.objects.count() == 1


# --- Pinning -------------------------------------------------------------------------------------


def test_pinning_moves_the_single_pin(ann: User) -> None:
    client = _client_for(ann)
    first, second = _tweet(ann, "first"), _tweet(ann, "second")
    response = client.post(f"/tweets/{first.pk}/pin/", follow=True)
    assert response.redirect_chain == [("/@ann/", 302)]
    assert "Pinned to your profile." in response.content.decode()
    assert list(Tweet.objects.filter(pinned=True).values_list("text", flat=True)) == ["first"]

    client.post(f"/tweets/{second.pk}/pin/")
    assert list(Tweet.objects.filter(pinned=True).values_list("text", flat=True)) == ["second"]
    # Pinning the pinned tweet again changes nothing.
    assert client.post(f"/tweets/{second.pk}/pin/").status_code == 302
    assert list(Tweet.objects.filter(pinned=True).values_list("text", flat=True)) == ["second"]


def test_unpinning(ann: User) -> None:
    tweet = _tweet(ann, pinned=True)
    response = _client_for(ann).post(f"/tweets/{tweet.pk}/unpin/", follow=True)
    assert "Unpinned from your profile." in response.content.decode()
    tweet.refresh_from_db()
    assert not tweet.pinned


def test_one_pin_per_author_is_a_database_rule(ann: User, bob: User) -> None:
    _tweet(ann, "a", pinned=True)
    _tweet(bob, "b", pinned=True)  # another author's pin is no conflict
    with pytest.raises(IntegrityError), transaction.atomic():
        _tweet(ann, "c", pinned=True)
    assert Tweet.objects.filter(pinned=True).count() == 2


def test_pinning_or_unpinning_someone_elses_tweet_is_forbidden(ann: User, bob: User) -> None:
    mine = _tweet(ann, "mine", pinned=True)
    theirs = _tweet(bob, "theirs")
    pinned_of_bob = _tweet(bob, "pinned", pinned=False)
    client = _client_for(ann)
    assert client.post(f"/tweets/{theirs.pk}/pin/").status_code == 403
    assert client.post(f"/tweets/{pinned_of_bob.pk}/unpin/").status_code == 403
    assert list(Tweet.objects.filter(pinned=True)) == [mine]
    assert client.post("/tweets/424242/pin/").status_code == 404
    assert client.post("/tweets/424242/unpin/").status_code == 404


# --- Methods and CSRF ----------------------------------------------------------------------------


# A GET of delete is the question before deleting (tests/tweets/test_delete_confirm.py).
@pytest.mark.parametrize(("action", "get_status"), [("delete", 200), ("pin", 405), ("unpin", 405)])
def test_writes_are_post_only(ann: User, action: str, get_status: int) -> None:
    tweet = _tweet(ann, pinned=action == "unpin")
    client = _client_for(ann)
    assert client.get(f"/tweets/{tweet.pk}/{action}/").status_code == get_status
    assert client.get("/tweets/").status_code == 405
    tweet.refresh_from_db()
    assert tweet.pinned is (action == "unpin")


def test_posts_without_a_csrf_token_are_refused_and_write_nothing(ann: User) -> None:
    mine = _tweet(ann, "keep me", pinned=True)
    other = _tweet(ann, "not pinned")
    client = _client_for(ann, enforce_csrf_checks=True)
    assert client.post("/tweets/", {"text": "forged"}).status_code == 403
    assert client.post(f"/tweets/{mine.pk}/delete/").status_code == 403
    assert client.post(f"/tweets/{other.pk}/pin/").status_code == 403
    assert client.post(f"/tweets/{mine.pk}/unpin/").status_code == 403
    assert sorted(Tweet.objects.values_list("text", "pinned")) == [("keep me", True), ("not pinned", False)]
    assert _stats(ann) == 0


def test_with_the_pages_csrf_token_the_same_post_works(ann: User) -> None:
    client = _client_for(ann, enforce_csrf_checks=True)
    home = client.get("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.content.decode())
    assert token, "the home page's tweet box has no CSRF token"
    response = client.post("/tweets/", {"text": "with token", "csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert Tweet.objects.get().text == "with token"

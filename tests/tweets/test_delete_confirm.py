"""Deleting asks first: GET /tweets/<id>/delete/ is the question (for browsers without JavaScript),
POST deletes as before (owner only, CSRF-checked); the owner's Delete control leads to the question."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann() -> User:
    return make_user("ann", name="Ann Example")


def _client_for(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _form(html: str, method: str) -> str:
    """The one <form method=...> that acts on a tweet's delete URL."""
    found: list[str] = re.findall(r"<form\b.*?</form>", html, re.S)
    forms = [f for f in found if f'method="{method}"' in f and "/delete/" in f]
    assert len(forms) == 1, forms
    return forms[0]


def test_the_owner_is_asked_first_and_nothing_is_deleted(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="Doomed <b>tweet</b> #bye")
    response = _client_for(ann).get(f"/tweets/{tweet.pk}/delete/?next=/tags/bye/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Delete this tweet? · TweetHub</title>" in html
    assert "Doomed &lt;b&gt;tweet&lt;/b&gt;" in html
    form = _form(html, "post")
    assert f'action="/tweets/{tweet.pk}/delete/"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<input type="hidden" name="next" value="/tags/bye/">' in form
    assert '<a class="button button-secondary" href="/tags/bye/">Cancel</a>' in form
    # The tweet is shown without its own Pin / Delete controls: the page is the question.
    assert "/pin/" not in html
    assert Tweet.objects.filter(pk=tweet.pk).exists()


def test_the_question_without_next_cancels_to_the_tweet_and_ignores_other_sites(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="mine")
    html = _client_for(ann).get(f"/tweets/{tweet.pk}/delete/?next=https://evil.example/").content.decode()
    assert f'href="/tweets/{tweet.pk}/">Cancel</a>' in html
    assert "evil.example" not in html
    assert 'name="next"' not in _form(html, "post")


def test_answering_yes_deletes_with_the_pages_csrf_token(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="mine")
    client = _client_for(ann, enforce_csrf_checks=True)
    html = client.get(f"/tweets/{tweet.pk}/delete/?next=/search/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _form(html, "post"))
    assert token is not None

    # Without the token the POST is refused and changes nothing.
    assert client.post(f"/tweets/{tweet.pk}/delete/", {"next": "/search/"}).status_code == 403
    assert Tweet.objects.filter(pk=tweet.pk).exists()

    response = client.post(f"/tweets/{tweet.pk}/delete/", {"next": "/search/", "csrfmiddlewaretoken": token.group(1)})
    assert (response.status_code, response["Location"]) == (302, "/search/")
    assert not Tweet.objects.filter(pk=tweet.pk).exists()


def test_another_member_is_refused_the_question_too(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="ann's")
    response = _client_for(make_user("bob")).get(f"/tweets/{tweet.pk}/delete/")
    assert response.status_code == 403
    assert "That is not your tweet." in response.content.decode()
    assert Tweet.objects.filter(pk=tweet.pk).exists()


def test_a_visitor_is_sent_to_log_in(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="ann's")
    response = Client().get(f"/tweets/{tweet.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert Tweet.objects.filter(pk=tweet.pk).exists()


def test_an_unknown_tweet_is_404(ann: User) -> None:
    assert _client_for(ann).get("/tweets/999999999/delete/").status_code == 404


def test_other_methods_are_refused(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="mine")
    assert _client_for(ann).put(f"/tweets/{tweet.pk}/delete/").status_code == 405
    assert Tweet.objects.filter(pk=tweet.pk).exists()


def test_the_delete_control_asks_first_and_puts_no_token_in_a_url(ann: User) -> None:
    tweet = Tweet.objects.create(author=ann, text="mine")
    html = _client_for(ann).get("/@ann/").content.decode()
    ask = _form(html, "get")
    # Without JavaScript the button opens the question, coming back here afterwards...
    assert f'action="/tweets/{tweet.pk}/delete/"' in ask
    assert '<input type="hidden" name="next" value="/@ann/">' in ask
    assert "csrfmiddlewaretoken" not in ask
    assert ">Delete</button>" in ask
    # ...and static/js/tweet-list.js asks with confirm(), then sends the hidden POST form.
    post = _form(html, "post")
    assert " hidden data-delete-form>" in post
    assert 'name="csrfmiddlewaretoken"' in post
    assert '<script src="/static/js/tweet-list.js" defer></script>' in html

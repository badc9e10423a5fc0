"""The messaging pages: /messages/, /messages/<username>/ and the /messages/c/<id>/ permalink."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import DmPolicy, User
from messaging.models import Conversation, Message
from messaging.services import message_send
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _conversation(a: User, b: User) -> Conversation:
    low, high = sorted([a.pk, b.pk])
    return Conversation.objects.get(user_low_id=low, user_high_id=high)


@pytest.mark.parametrize("url", ["/messages/", "/messages/ann/", "/messages/c/1/"])
def test_anonymous_visitors_are_sent_to_log_in(client: Client, url: str) -> None:
    make_user("ann")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    response = client.post("/messages/ann/", {"text": "hi"})
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_send_by_form_then_both_sides_read_it() -> None:
    ann, bob = make_user("ann", name="Ann"), make_user("bob", name="Bob")
    as_ann, as_bob = _client(ann), _client(bob)

    response = as_ann.post("/messages/bob/", {"text": "  Hello <Bob>  "})
    assert response.status_code == 302
    assert response["Location"] == "/messages/bob/"
    page = as_ann.get("/messages/bob/").content.decode()
    assert "Hello &lt;Bob&gt;" in page
    assert "dm-mine" in page

    inbox = as_bob.get("/messages/").content.decode()
    assert "Hello &lt;Bob&gt;" in inbox
    assert 'data-unread="1"' in inbox
    page = as_bob.get("/messages/ann/").content.decode()
    assert "Hello &lt;Bob&gt;" in page
    assert "dm-theirs" in page
    # Opening the conversation read it.
    assert 'data-unread="' not in as_bob.get("/messages/").content.decode()


def test_usernames_are_case_insensitive_and_redirect_to_their_spelling() -> None:
    ann, _bob = make_user("ann"), make_user("Bob")
    as_ann = _client(ann)
    response = as_ann.get("/messages/BOB/")
    assert response.status_code == 302
    assert response["Location"] == "/messages/Bob/"
    assert as_ann.post("/messages/bob/", {"text": "hi"}).status_code == 302
    assert Message.objects.get().text == "hi"


def test_unknown_people_inactive_accounts_and_yourself_are_404() -> None:
    ann = make_user("ann")
    make_user("gone", is_active=False)
    as_ann = _client(ann)
    for url in ("/messages/nobody/", "/messages/gone/", "/messages/ann/", "/messages/ANN/"):
        assert as_ann.get(url).status_code == 404, url
        assert as_ann.post(url, {"text": "hi"}).status_code == 404, url
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write something first."),
        ("   ", "Write something first."),
        ("x" * 1001, "Messages are at most 1000 characters (this one has 1001)."),
        # Django's form field refuses NUL before the service does (the service refuses it too, for
        # the websocket path: tests/messaging/test_services.py).
        ("bad\x00byte", "Null characters are not allowed."),
    ],
)
def test_refused_text_comes_back_beside_the_field_and_nothing_is_written(text: str, error: str) -> None:
    ann, _bob = make_user("ann"), make_user("bob")
    response = _client(ann).post("/messages/bob/", {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<ul class="errorlist" id="id_text_error"><li>{error}</li></ul>' in html
    assert 'aria-invalid="true"' in html
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_unverified_users_read_but_cannot_send() -> None:
    ann, _bob = make_user("ann", verified=False), make_user("bob")
    as_ann = _client(ann)
    page = as_ann.get("/messages/bob/")
    assert page.status_code == 200
    assert "Confirm your email address to send messages." in page.content.decode()
    assert 'id="dm-form"' not in page.content.decode()
    response = as_ann.post("/messages/bob/", {"text": "hi"})
    assert response.status_code == 403
    assert "Please confirm your email address first." in response.content.decode()
    assert not Message.objects.exists()


def test_only_people_i_follow_is_a_readable_403_and_the_page_says_so() -> None:
    ann, _bob = make_user("ann"), make_user("bob", dm_policy=DmPolicy.FOLLOWING)
    as_ann = _client(ann)
    page = as_ann.get("/messages/bob/").content.decode()
    assert "@bob only accepts messages from people they follow." in page
    assert 'id="dm-form"' not in page
    response = as_ann.post("/messages/bob/", {"text": "hi"})
    assert response.status_code == 403
    assert "@bob only accepts messages from people they follow." in response.content.decode()
    assert not Message.objects.exists()


def test_sending_too_fast_is_429_and_writes_nothing_more() -> None:
    ann, _bob = make_user("ann"), make_user("bob")
    as_ann = _client(ann)
    for n in range(30):
        assert as_ann.post("/messages/bob/", {"text": f"m{n}"}).status_code == 302
    response = as_ann.post("/messages/bob/", {"text": "one more"})
    assert response.status_code == 429
    assert "You are sending messages very fast." in response.content.decode()
    assert int(response["Retry-After"]) >= 1
    assert Message.objects.count() == 30


def test_csrf_is_enforced_on_sending() -> None:
    ann, _bob = make_user("ann"), make_user("bob")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    assert client.post("/messages/bob/", {"text": "forged"}).status_code == 403
    assert not Message.objects.exists()
    # The real form carries its token and works.
    client.get("/messages/bob/")
    token = client.cookies["csrftoken"].value
    assert client.post("/messages/bob/", {"text": "real", "csrfmiddlewaretoken": token}).status_code == 302
    assert Message.objects.get().text == "real"


def test_a_third_person_can_reach_no_other_pairs_messages_by_any_url() -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    message_send(sender=ann, recipient=bob, text="secret between ann and bob")
    conversation = _conversation(ann, bob)
    newest = conversation.last_message_id
    assert newest is not None
    as_cat = _client(cat)

    assert as_cat.get(f"/messages/c/{conversation.pk}/").status_code == 404
    assert as_cat.get(f"/messages/c/{conversation.pk + 1}/").status_code == 404
    for url in (
        "/messages/",
        "/messages/ann/",
        "/messages/bob/",
        f"/messages/bob/?before={newest + 1}",
        f"/messages/ann/?before={newest + 1}",
    ):
        response = as_cat.get(url)
        assert response.status_code == 200, url
        assert "secret between" not in response.content.decode(), url
    # Cat's own (empty) conversation with Bob does not start by looking at it.
    assert Conversation.objects.count() == 1

    # The participants' permalink leads each to their side of it.
    assert _client(ann).get(f"/messages/c/{conversation.pk}/")["Location"] == "/messages/bob/"
    assert _client(bob).get(f"/messages/c/{conversation.pk}/")["Location"] == "/messages/ann/"


@pytest.mark.usefixtures("generous_rate_limit")
def test_conversation_pages_back_in_time_and_marks_read_only_on_the_latest_page() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    sent = [message_send(sender=ann, recipient=bob, text=f"message number {n}") for n in range(55)]
    as_bob = _client(bob)

    older = as_bob.get(f"/messages/ann/?before={sent[5].pk}").content.decode()
    assert "message number 4<" in older
    assert "message number 5<" not in older
    assert "Newest messages" in older
    conversation = _conversation(ann, bob)
    assert getattr(conversation, conversation.last_read_field(bob.pk)) == 0  # an older page reads nothing
    assert 'data-unread="55"' in as_bob.get("/messages/").content.decode()

    latest = as_bob.get("/messages/ann/").content.decode()
    assert "message number 54<" in latest
    assert "message number 4<" not in latest
    assert f'href="?before={sent[5].pk}"' in latest  # 50 shown: the oldest shown is number 5
    assert 'data-unread="' not in as_bob.get("/messages/").content.decode()

    assert as_bob.get("/messages/ann/?before=banana").status_code == 400


def test_inbox_opens_a_conversation_by_username() -> None:
    ann, _bob = make_user("ann"), make_user("Bob")
    as_ann = _client(ann)
    response = as_ann.get("/messages/?to=@bob")
    assert response.status_code == 302
    assert response["Location"] == "/messages/Bob/"
    response = as_ann.get("/messages/?to=nobody")
    assert response.status_code == 404
    assert "There is nobody else called “nobody” on TweetHub." in response.content.decode()
    assert as_ann.get("/messages/?to=ann").status_code == 404


def test_empty_inbox_explains_how_to_start() -> None:
    page = _client(make_user("ann")).get("/messages/").content.decode()
    assert "No messages yet" in page


@pytest.mark.usefixtures("generous_rate_limit")
def test_inbox_and_conversation_pages_cost_a_constant_number_of_queries(django_assert_max_num_queries: Any) -> None:
    me = make_user("me")
    others = [make_user(f"p{n}") for n in range(15)]
    for other in others:
        message_send(sender=other, recipient=me, text="hello")
        message_send(sender=me, recipient=other, text="hi")
    for _ in range(40):
        message_send(sender=others[0], recipient=me, text="again")
    as_me = _client(me)
    as_me.get("/messages/")  # warm up: session into the cache, last_active written
    # The user (the session comes from the cache) and the inbox itself, with every count.
    with django_assert_max_num_queries(2):
        assert as_me.get("/messages/").status_code == 200
    # The user, the other person, the block check, the conversation, the read mark, the page.
    with django_assert_max_num_queries(6):
        assert as_me.get("/messages/p0/").status_code == 200


def test_policy_is_a_profile_setting() -> None:
    ann = make_user("ann")
    as_ann = _client(ann)
    page = as_ann.get("/settings/profile/").content.decode()
    assert "Who can send me messages" in page
    form = {"name": "Ann", "bio": "", "location": "", "website": ""}
    assert as_ann.post("/settings/profile/", {**form, "dm_policy": "following"}).status_code == 302
    ann.refresh_from_db()
    assert ann.dm_policy == DmPolicy.FOLLOWING
    # A form without the field (an older page) leaves it alone; a bogus value is refused.
    assert as_ann.post("/settings/profile/", form).status_code == 302
    ann.refresh_from_db()
    assert ann.dm_policy == DmPolicy.FOLLOWING
    assert as_ann.post("/settings/profile/", {**form, "dm_policy": "nobody"}).status_code == 400
    ann.refresh_from_db()
    assert ann.dm_policy == DmPolicy.FOLLOWING

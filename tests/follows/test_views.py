"""POST /@<username>/follow/ and /unfollow/: idempotent, verified only, never oneself."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.selectors import stats_for
from follows.models import Follow
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _counts(user_id: int) -> tuple[int, int]:
    stats = stats_for(user_id)
    return stats.followers, stats.following


def test_follow_and_unfollow_are_idempotent_and_counts_stay_exact(client: Client) -> None:
    ann, bob = make_user("ann"), make_user("Bob")
    client.force_login(ann)

    for _ in range(2):
        response = client.post("/@bob/follow/")
        assert response.status_code == 302
        assert response["Location"] == "/@Bob/"
    assert Follow.objects.filter(follower=ann, followee=bob).count() == 1
    assert _counts(bob.pk) == (1, 0)
    assert _counts(ann.pk) == (0, 1)
    page = client.get("/@Bob/").content.decode()
    assert "You follow @Bob" in page
    assert ">Unfollow</button>" in page

    for _ in range(2):
        assert client.post("/@Bob/unfollow/").status_code == 302
    assert not Follow.objects.exists()
    assert _counts(bob.pk) == (0, 0)
    assert _counts(ann.pk) == (0, 0)
    page = client.get("/@Bob/").content.decode()
    assert "You no longer follow @Bob" in page
    assert ">Follow</button>" in page


def test_redirects_to_a_safe_next_only(client: Client) -> None:
    ann, _bob = make_user("ann"), make_user("bob")
    client.force_login(ann)
    response = client.post("/@bob/follow/", {"next": "/search/?q=bob"})
    assert response["Location"] == "/search/?q=bob"
    response = client.post("/@bob/unfollow/", {"next": "https://evil.example/"})
    assert response["Location"] == "/@bob/"


def test_following_oneself_is_refused_and_writes_nothing(client: Client) -> None:
    ann = make_user("ann")
    client.force_login(ann)
    response = client.post("/@ANN/follow/")
    assert response.status_code == 400
    assert "You cannot follow yourself." in response.content.decode()
    assert not Follow.objects.exists()
    assert _counts(ann.pk) == (0, 0)


def test_unverified_users_get_403_and_nothing_is_written(client: Client) -> None:
    ann, bob = make_user("ann", verified=False), make_user("bob")
    client.force_login(ann)
    for action in ("follow", "unfollow"):
        response = client.post(f"/@bob/{action}/")
        assert response.status_code == 403
        assert "Please confirm your email address first." in response.content.decode()
    assert not Follow.objects.exists()
    assert _counts(bob.pk) == (0, 0)
    assert _counts(ann.pk) == (0, 0)


def test_unknown_and_inactive_users_are_404(client: Client) -> None:
    client.force_login(make_user("ann"))
    make_user("gone", is_active=False)
    for name in ("nobody", "gone"):
        assert client.post(f"/@{name}/follow/").status_code == 404
        assert client.post(f"/@{name}/unfollow/").status_code == 404
    assert not Follow.objects.exists()


def test_get_is_405(client: Client) -> None:
    make_user("bob")
    client.force_login(make_user("ann"))
    assert client.get("/@bob/follow/").status_code == 405
    assert client.get("/@bob/unfollow/").status_code == 405
    assert not Follow.objects.exists()


def test_visitors_are_sent_to_log_in_and_back_to_the_page_they_were_on(client: Client) -> None:
    make_user("bob")
    response = client.post("/@bob/follow/", {"next": "/search/?q=bob"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/search/%3Fq%3Dbob"
    response = client.post("/@bob/follow/")
    assert response["Location"] == "/accounts/login/?next=/%40bob/"
    assert not Follow.objects.exists()


def test_csrf_is_enforced() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    assert client.post("/@bob/follow/").status_code == 403
    assert not Follow.objects.exists()

    # The form on the profile page carries the token that makes the same POST work.
    page = client.get("/@bob/")
    token = page.context["csrf_token"]
    assert client.post("/@bob/follow/", {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert Follow.objects.filter(follower=ann, followee=bob).exists()

"""Over the follow limit the follow and unfollow buttons get the site's 429 page (issue 17, item 13)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import override_settings

from follows.models import Follow
from tests.factories import make_user


@pytest.mark.django_db
@override_settings(RATE_LIMIT_FOLLOWS_PER_USER="2/1h")
def test_over_the_limit_following_answers_429_with_a_clear_message(client: Client) -> None:
    ann, _bob, _cat = make_user("ann"), make_user("bob"), make_user("cat")
    client.force_login(ann)
    assert client.post("/@bob/follow/").status_code == 302
    assert client.post("/@bob/unfollow/").status_code == 302

    for url in ("/@cat/follow/", "/@bob/unfollow/"):
        response = client.post(url)
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert "followed and unfollowed a lot of accounts in a short while" in response.content.decode()
    assert not Follow.objects.filter(follower=ann).exists()

"""Tweet search leaves suspended accounts' tweets out in its own query, like every tweet list
(Tweet.objects.visible()), so a page of results is never cut short by tweets hidden afterwards."""

from __future__ import annotations

import pytest

from moderation.services import account_suspend
from tests.factories import make_user
from tweets.search import search_tweets
from tweets.services import tweet_create

pytestmark = pytest.mark.django_db


def test_a_suspended_authors_tweets_leave_no_hole_in_a_page() -> None:
    ann, gone = make_user("ann"), make_user("gone")
    older = [tweet_create(author=ann, text=f"kettle {n}").text for n in range(2)]
    for n in range(3):
        tweet_create(author=gone, text=f"kettle news {n}")
    account_suspend(moderator=make_user("mod", is_staff=True), user_id=gone.pk)

    page = search_tweets("kettle", before=None, limit=2)
    assert [tweet.text for tweet in page.items] == older[::-1]
    assert page.next_cursor is None

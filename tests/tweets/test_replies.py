"""Replies and threads: the service's refusals (nothing written), counts, the thread page (ancestors,
replies oldest first and paged, the deleted-tweet placeholder), profile tabs and mentions across a
block. Real Postgres and Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from follows.services import block_create
from moderation.services import account_suspend
from tests.factories import make_user
from tweets import selectors
from tweets.models import Tweet
from tweets.services import ReplyRefused, tweet_create, tweet_delete

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _snapshot() -> object:
    return sorted(Tweet.objects.values_list("id", "reply_count", "in_reply_to"))


def test_a_reply_keeps_its_parent_root_and_author_and_counts() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    root = tweet_create(author=ann, text="root")
    first = tweet_create(author=bob, text="first", in_reply_to=root.pk)
    second = tweet_create(author=ann, text="second", in_reply_to=first.pk)
    assert (second.in_reply_to, second.conversation_root, second.reply_to_author_id) == (first.pk, root.pk, bob.pk)
    assert Tweet.objects.get(pk=root.pk).reply_count == 1
    assert selectors.tweet_card(root.pk).reply_count == 1
    tweet_delete(tweet_id=first.pk, user=bob)
    assert Tweet.objects.get(pk=root.pk).reply_count == 0
    assert selectors.tweet_card(root.pk).reply_count == 0  # the cached count was dropped, refilled


def test_replying_to_a_deleted_tweet_says_so_and_writes_nothing() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    gone = tweet_create(author=ann, text="soon gone")
    tweet_delete(tweet_id=gone.pk, user=ann)
    before = _snapshot()
    with pytest.raises(ReplyRefused, match="deleted"):
        tweet_create(author=bob, text="too late", in_reply_to=gone.pk)
    assert _snapshot() == before
    response = _client(bob).post(f"/tweets/{gone.pk}/reply/", {"text": "too late"})
    assert response.status_code == 400
    assert "was deleted, so it cannot be answered" in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("why", ["suspended", "blocked by the author", "blocking the author"])
def test_replying_to_a_tweet_one_may_not_see_is_404_and_writes_nothing(why: str) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    tweet = tweet_create(author=ann, text="hello")
    if why == "suspended":
        account_suspend(moderator=make_user("mod", is_staff=True), user_id=ann.pk)
    elif why == "blocked by the author":
        block_create(blocker=ann, blocked=bob)
    else:
        block_create(blocker=bob, blocked=ann)
    before = _snapshot()
    with pytest.raises(Tweet.DoesNotExist):
        tweet_create(author=bob, text="hi", in_reply_to=tweet.pk)
    assert _client(bob).post(f"/tweets/{tweet.pk}/reply/", {"text": "hi"}).status_code == 404
    assert _snapshot() == before


def test_bad_reply_text_comes_back_with_the_message(settings: Any) -> None:
    ann = make_user("ann")
    tweet = tweet_create(author=ann, text="hello")
    response = _client(ann).post(f"/tweets/{tweet.pk}/reply/", {"text": "x" * (settings.TWEET_MAX_LENGTH + 1)})
    assert response.status_code == 400
    assert "Tweets are at most" in response.content.decode()
    assert Tweet.objects.count() == 1


def test_replies_are_rate_limited_with_tweets(settings: Any) -> None:
    settings.RATE_LIMIT_TWEETS_PER_USER = "2/1h"
    ann = make_user("ann")
    tweet = tweet_create(author=ann, text="one")
    tweet_create(author=ann, text="two", in_reply_to=tweet.pk)
    response = _client(ann).post(f"/tweets/{tweet.pk}/reply/", {"text": "three"})
    assert response.status_code == 429
    assert Tweet.objects.count() == 2


def test_the_thread_page_shows_ancestors_replies_oldest_first_and_pages(
    settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.REPLIES_PAGE_SIZE = 2
    ann, bob = make_user("ann"), make_user("bob")
    root = tweet_create(author=ann, text="the root")
    middle = tweet_create(author=bob, text="the middle", in_reply_to=root.pk)
    replies = [tweet_create(author=ann, text=f"answer {n}", in_reply_to=middle.pk) for n in range(3)]
    client = _client(bob)
    client.get(f"/tweets/{middle.pk}/")  # warm the cards
    with django_assert_max_num_queries(8):
        page = client.get(f"/tweets/{middle.pk}/").content.decode()
    order = [page.index(f'id="tweet-{tweet.pk}"') for tweet in (root, middle, replies[0], replies[1])]
    assert order == sorted(order)
    assert "answer 2" not in page
    assert f"?after={replies[1].pk}#replies" in page
    assert "Show more replies" in page
    more = client.get(f"/tweets/{middle.pk}/?after={replies[1].pk}").content.decode()
    assert "answer 2" in more
    assert "answer 0" not in more


def test_a_deleted_tweet_leaves_a_placeholder_and_its_replies_readable() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    root = tweet_create(author=ann, text="the root")
    middle = tweet_create(author=bob, text="the middle that goes", in_reply_to=root.pk)
    answer = tweet_create(author=ann, text="the answer stays", in_reply_to=middle.pk)
    tweet_delete(tweet_id=middle.pk, user=bob)

    page = Client().get(f"/tweets/{answer.pk}/").content.decode()
    assert "the answer stays" in page
    assert "This tweet was deleted." in page
    assert "the root" in page  # the conversation's root, above the placeholder
    assert "the middle that goes" not in page
    deleted = Client().get(f"/tweets/{middle.pk}/")
    assert deleted.status_code == 200
    assert "This tweet was deleted." in deleted.content.decode()
    assert "the answer stays" in deleted.content.decode()


def test_profile_tabs_hide_replies_to_others_but_keep_self_threads() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    bobs = tweet_create(author=bob, text="bob asks")
    to_bob = tweet_create(author=ann, text="ann answers bob", in_reply_to=bobs.pk)
    thread = tweet_create(author=ann, text="ann starts a thread")
    tweet_create(author=ann, text="ann goes on", in_reply_to=thread.pk)
    tweets_tab = Client().get("/@ann/").content.decode()
    assert "ann goes on" in tweets_tab
    assert "ann answers bob" not in tweets_tab
    replies_tab = Client().get("/@ann/?tab=replies").content.decode()
    assert "ann answers bob" in replies_tab
    assert "Replying to" in replies_tab
    assert f"/tweets/{to_bob.pk}/" in replies_tab


def test_a_mention_across_a_block_is_no_mention() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    block_create(blocker=bob, blocked=ann)
    tweet = tweet_create(author=ann, text="hello @bob")
    assert tweet.mentions == []
    page = Client().get(f"/tweets/{tweet.pk}/").content.decode()
    assert 'href="/@bob/"' not in page

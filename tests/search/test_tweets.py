"""Tweet search: websearch_to_tsquery('simple', q) on the generated tsvector, newest first."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tweets.search import search_tweets
from tweets.services import tweet_create, tweet_delete

pytestmark = pytest.mark.django_db


def _texts(query: str, *, before: int | None = None, limit: int = 20) -> list[str]:
    return [tweet.text for tweet in search_tweets(query, before=before, limit=limit).items]


def test_finds_words_and_tags_newest_first() -> None:
    ann = make_user("ann")
    tweet_create(author=ann, text="Learning #Django today")
    tweet_create(author=ann, text="django is a web framework")
    tweet_create(author=ann, text="Flask is too")
    tweet_create(author=ann, text="I like DJANGO reinhardt's music")
    assert _texts("django") == [
        "I like DJANGO reinhardt's music",
        "django is a web framework",
        "Learning #Django today",
    ]
    assert _texts("#django") == _texts("django")
    assert _texts("django framework") == ["django is a web framework"]
    assert _texts('"web framework"') == ["django is a web framework"]
    assert _texts("django -framework -music") == ["Learning #Django today"]
    assert _texts("flask or framework") == ["Flask is too", "django is a web framework"]
    assert _texts("pyramid") == []


def test_unicode_words_and_deleted_tweets() -> None:
    ann = make_user("ann")
    tweet_create(author=ann, text="Café com pão em Lisboa ☕")
    gone = tweet_create(author=ann, text="Lisboa again")
    tweet_delete(tweet_id=gone.pk, user=ann)
    assert _texts("café") == ["Café com pão em Lisboa ☕"]
    assert _texts("LISBOA") == ["Café com pão em Lisboa ☕"]


def test_cursor_pages() -> None:
    ann = make_user("ann")
    tweets = [tweet_create(author=ann, text=f"paging test {n}") for n in range(5)]
    first = search_tweets("paging", before=None, limit=2)
    assert [t.id for t in first.items] == [tweets[4].pk, tweets[3].pk]
    assert first.next_cursor == tweets[3].pk
    second = search_tweets("paging", before=first.next_cursor, limit=2)
    assert [t.id for t in second.items] == [tweets[2].pk, tweets[1].pk]


@pytest.mark.parametrize(
    "query",
    ["", "  ", "%", "'; drop table tweets_tweet; --", "<script>", "\x00", "-", '"', "!!! & | :*", "x" * 10_000],
)
def test_hostile_queries_never_fail(query: str) -> None:
    tweet_create(author=make_user("ann"), text="drop the table, said nobody")
    found = _texts(query)
    assert found in ([], ["drop the table, said nobody"])

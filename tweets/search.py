"""Full-text search over tweets (a selector; kept apart from tweets.selectors).

Tweet.search is a tsvector Postgres generates from the text with the 'simple' configuration (no
stemming, no stop words: tweets come in every language), indexed by tweets_search_gin.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery

from tweets.models import Tweet
from tweets.selectors import TweetPage, older_ids, page_of


def search_tweets(query: str, *, before: int | None, limit: int) -> TweetPage:
    """Tweets matching `query`, newest first, older than the cursor `before` (a tweet id).

    The query is read by websearch_to_tsquery: words are ANDed, "quoted phrases", `or` and
    -exclusions work, and no input is a syntax error. A '#' separates words like any punctuation
    in the 'simple' parser, so "#django" and "django" find the same tweets. A query with no words
    ("%", "<>") matches nothing. NUL bytes, which Postgres text cannot hold, are dropped.
    """
    q = query.replace("\x00", "").strip()
    if not q:
        return TweetPage(items=[], next_cursor=None)
    matching = Tweet.objects.filter(search=SearchQuery(q, search_type="websearch", config="simple"))
    return page_of(older_ids(matching, before=before, limit=limit + 1), limit=limit)

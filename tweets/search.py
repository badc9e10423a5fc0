"""Full-text search over tweets (a selector; kept apart from tweets.selectors).

Tweet.search is a tsvector Postgres generates from the text with the 'simple' configuration (no
stemming, no stop words: tweets come in every language), indexed by tweets_search_gin.

A search for a person also finds the tweets that @mention them: a tweet's text holds the username it
mentions, never the display name, so "Alice Liddell" would otherwise miss "thanks @wonderland".
Tweet.mentions (the lower-cased usernames, parsed at write time) is indexed by tweets_mentions_gin.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from follows.blocks import block_related
from tweets.models import Tweet
from tweets.selectors import TweetPage, tweet_list

# At most this many accounts' mentions are searched: "john" may match thousands of display names,
# and every one adds a key to the index lookup. The first ones by username (stable across pages).
MENTIONED_ACCOUNTS_LIMIT = 100
# Query words past this many are ignored when matching names (a display name is at most 50
# characters: longer queries are sentences, not names).
NAME_WORDS_LIMIT = 8
_WORD = re.compile(r"(?<![\w-])(-?)(\w+)")
# The shortest word the name trigram index can look up (its trigrams need three characters): a name
# is matched only when the query has such a word, so no search scans every account.
_INDEXED_WORD_LENGTH = 3


def _name_words(q: str) -> list[str]:
    """The words a display name must hold for `q` to name its owner, lower-cased: the query's words
    less websearch's `-exclusions` and its `or` (quotes only group words: their words count)."""
    words = [word.lower() for minus, word in _WORD.findall(q) if not minus and word.lower() != "or"]
    return words[:NAME_WORDS_LIMIT]


def _excluded_words(q: str) -> list[str]:
    """The query's -excluded words, lower-cased."""
    return [word.lower() for minus, word in _WORD.findall(q) if minus]


def _whole_word(word: str) -> str:
    # A Postgres regular expression: \m and \M are the start and the end of a word. `word` is
    # letters, digits and underscores only (_WORD), nothing a pattern would read as an operator.
    return rf"\m{word}\M"


def mentioned_accounts(q: str) -> QuerySet[User, dict[str, Any]] | None:
    """The lower-cased usernames of the active accounts `q` names, as a subquery (None when it
    names nobody): the account whose username is `q` (an '@' before it allowed), and those whose
    display name holds every word of `q` and none of its -excluded words, as whole words in any
    case ("alice liddell" names "Alice Liddell" and "Liddell, Alice", not "Alicent"). Served by the
    unique index on lower(username) and the trigram index on lower(name) (a regular expression
    search), never by reading every account. `or` is not applied to names: "alice or bob" names
    whoever has both words in their name, while the tweets' words are matched as websearch says."""
    named = Q()
    username = q.removeprefix("@").lower()
    if re.fullmatch(r"[a-z0-9_]{1,15}", username):
        named |= Q(lusername=username)
    words = _name_words(q)
    if any(len(word) >= _INDEXED_WORD_LENGTH for word in words):
        name_holds_them = Q(*(Q(lname__regex=_whole_word(word)) for word in words))
        for word in _excluded_words(q):
            name_holds_them &= ~Q(lname__regex=_whole_word(word))
        named |= name_holds_them
    if not named:
        return None
    return (
        User.objects.annotate(lusername=Lower("username"), lname=Lower("name"))
        .filter(named, is_active=True)
        .order_by("lusername")
        .values("lusername")[:MENTIONED_ACCOUNTS_LIMIT]
    )


def search_tweets(query: str, *, before: int | None, limit: int, viewer_id: int | None = None) -> TweetPage:
    """Tweets matching `query`, or mentioning an account it names (mentioned_accounts) and holding
    none of its -excluded words, newest first, older than the cursor `before` (a tweet id), none by
    a suspended account. One query for the ids, whichever way they match.

    The query is read by websearch_to_tsquery: words are ANDed, "quoted phrases", `or` and
    -exclusions work, and no input is a syntax error. A '#' separates words like any punctuation
    in the 'simple' parser, so "#django" and "django" find the same tweets. A query with no words
    ("%", "<>") matches nothing. NUL bytes, which Postgres text cannot hold, are dropped.
    """
    q = query.replace("\x00", "").strip()
    if not q:
        return TweetPage(items=[], next_cursor=None)
    matches = Q(search=SearchQuery(q, search_type="websearch", config="simple"))
    accounts = mentioned_accounts(q)
    if accounts is not None:
        mentioning = Q(mentions__overlap=ArraySubquery(accounts))
        excluded = _excluded_words(q)
        if excluded:  # "liddell -tea": tweets mentioning Alice Liddell, but not about tea
            without = " ".join(f"-{word}" for word in excluded)
            mentioning &= Q(search=SearchQuery(without, search_type="websearch", config="simple"))
        matches |= mentioning
    # visible(): as every tweet list, without suspended accounts' tweets, in the ids already, so that
    # a page is never cut short by cards that turn out to be hidden.
    found = Tweet.objects.filter(matches).visible()
    if viewer_id is not None:  # a block hides each from the other's searches, in the same query
        found = found.exclude(block_related("author_id", viewer_id))
    return tweet_list(found, before=before, limit=limit)

"""Reads of tweets for pages other than the home timeline (which lives in timelines.selectors)."""

from __future__ import annotations

import unicodedata

from tweets.models import Tweet


def tweet_by_id(tweet_id: int) -> Tweet:
    """One tweet with its author; Tweet.DoesNotExist if absent."""
    return Tweet.objects.select_related("author").defer("search").get(pk=tweet_id)


def tweets_by_author(*, author_id: int, before: int | None, limit: int) -> list[Tweet]:
    """An author's tweets, newest first, older than the cursor (index tweets_author_id_desc)."""
    queryset = Tweet.objects.filter(author_id=author_id).select_related("author").defer("search")
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id")[:limit])


def pinned_tweet(*, author_id: int) -> Tweet | None:
    return Tweet.objects.filter(author_id=author_id, pinned=True).select_related("author").defer("search").first()


def tweets_with_tag(*, tag: str, before: int | None, limit: int) -> list[Tweet]:
    """Tweets carrying #tag in any capitalisation, newest first; uses the GIN index on tags.
    Tags are stored lower-cased in NFC (tweets.parsing), so the lookup is normalised the same way."""
    canonical = unicodedata.normalize("NFC", tag.lower())
    queryset = Tweet.objects.filter(tags__contains=[canonical]).select_related("author").defer("search")
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    return list(queryset.order_by("-id")[:limit])

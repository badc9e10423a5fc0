"""Search: people first (trigram match on names), then tweets (full text), one GET form."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.selectors import search_users
from follows.selectors import people_rows
from tweethub.cursors import before_cursor
from tweets.search import search_tweets

# Longest query we search for; longer input is cut, never refused (a pasted paragraph still works).
MAX_QUERY_LENGTH = 100
# People shown above the tweets (first page only; people are ranked, not paged).
PEOPLE_LIMIT = 20


def clean_query(raw: str) -> str:
    """Control and invisible characters (NUL included) become spaces, runs of whitespace one
    space, and the result is cut to MAX_QUERY_LENGTH: what is searched is what the form shows."""
    printable = "".join(char if char.isprintable() else " " for char in raw)
    return " ".join(printable.split())[:MAX_QUERY_LENGTH].strip()


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = clean_query(request.GET.get("q", ""))
    before, limit = before_cursor(request), settings.TIMELINE_PAGE_SIZE
    people = search_users(q, limit=PEOPLE_LIMIT) if q and before is None else []
    # One row more than shown: the "older" link appears only when there is an older page.
    found = search_tweets(q, before=before, limit=limit + 1) if q else []
    tweets = found[:limit]
    context = {
        "q": q,
        "first_page": before is None,
        "people": people_rows(viewer_id=request.user.pk if request.user.is_authenticated else None, people=people),
        "tweets": tweets,
        "next_cursor": tweets[-1].id if len(found) > limit else None,
    }
    return render(request, "search.html", context)

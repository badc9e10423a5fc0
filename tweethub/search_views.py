"""Search: people first (trigram match on names), then tweets (full text, and the tweets mentioning
the people the query names: tweets.search), one GET form."""

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
    page = search_tweets(q, before=before, limit=limit) if q else None
    context = {
        "q": q,
        "first_page": before is None,
        "people": people_rows(viewer_id=request.user.pk if request.user.is_authenticated else None, people=people),
        "tweets": page.items if page else [],
        "next_cursor": page.next_cursor if page else None,
    }
    return render(request, "search.html", context)

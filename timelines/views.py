from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.demo import demo_login
from timelines import page as home_page
from timelines.repairs import queue_list_build, queue_rebuild, queue_repair
from timelines.selectors import home_timeline
from tweethub.cursors import before_cursor
from tweets.forms import TweetForm
from tweets.selectors import TweetPage, explore_tweets

logger = logging.getLogger(__name__)


def _landing(request: HttpRequest) -> HttpResponse:
    """Visitors: everyone's recent tweets ("Explore", ?before=<id> for older ones), then the pitch.
    One query for the ids, rows from the card cache. With Postgres away the page still answers, its
    list replaced by a note: the front door stays open while the database is back in a moment."""
    before = before_cursor(request)
    page: TweetPage | None
    try:
        page = explore_tweets(before=before, limit=settings.TIMELINE_PAGE_SIZE)
    except (OperationalError, InterfaceError):
        logger.warning("the explore list is unavailable", exc_info=True)
        page = None
    # Without Postgres the demo account cannot be checked either: do not wait for it twice.
    demo = demo_login() if page is not None else None
    return render(request, "landing.html", {"page": page, "first_page": before is None, "demo": demo})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Visitors get the landing page; members their home timeline, ?before=<id> for older pages."""
    if not request.user.is_authenticated:
        return _landing(request)
    user = request.user
    page = home_timeline(
        user_id=user.pk,
        before=before_cursor(request),
        limit=settings.TIMELINE_PAGE_SIZE,
        on_missing_feed=queue_rebuild,
        on_stale_ids=queue_repair,
        on_missing_list=queue_list_build,
    )
    if home_page.can_assemble(request):
        return HttpResponse(home_page.assemble(request, page))
    return render(
        request,
        "timelines/home.html",
        {"page": page, "form": TweetForm(), "first_page": "before" not in request.GET},
    )

"""The admin panel: how TweetHub works, with live figures. Who sees what: adminpanel.figures."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from adminpanel import figures, selectors
from mailcatcher import access as mail_access


@never_cache
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    if not figures.panel_visible(request.user):
        raise Http404
    staff = figures.is_staff(request.user)
    # The account whose mail this visitor may read is the one they are logged into: no query.
    own_accounts = [request.user.get_username()] if mail_access.own_account_ids(request.user) else []
    # Versions and the worker count come with the cached figures: no health check, no worker ping.
    public = figures.cached_public_figures()
    context = {
        "staff": staff,
        "stack": figures.technology(public),
        "workers": figures.workers_online() if staff else [],
        "newest_accounts": selectors.newest_accounts() if staff else [],
        "mail_accounts": own_accounts,
        "last_purge": selectors.last_purge(),
        "next_purge_at": selectors.next_purge_at(),
        "figures": public,
        "heartbeat_seconds": settings.WORKER_HEARTBEAT_SECONDS,
        "online_seconds": figures.WORKER_ONLINE_SECONDS,
    }
    return render(request, "adminpanel/overview.html", context)


@never_cache
@require_GET
def figures_json(request: HttpRequest) -> JsonResponse:
    if not figures.panel_visible(request.user):
        raise Http404
    return JsonResponse(figures.cached_public_figures())

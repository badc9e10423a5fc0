"""The admin panel: how TweetHub works, with live figures. Who sees what: adminpanel.figures."""

from __future__ import annotations

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
    stack, workers = figures.technology()
    own_accounts = selectors.usernames_for(user_ids=mail_access.granted_user_ids(request.session))
    context = {
        "staff": staff,
        "stack": stack,
        "workers": workers if staff else [],
        "newest_accounts": selectors.newest_accounts() if staff else [],
        "mail_accounts": own_accounts,
        "last_purge": selectors.last_purge(),
        "next_purge_at": selectors.next_purge_at(),
        "figures": figures.cached_public_figures(),
    }
    return render(request, "adminpanel/overview.html", context)


@never_cache
@require_GET
def figures_json(request: HttpRequest) -> JsonResponse:
    if not figures.panel_visible(request.user):
        raise Http404
    return JsonResponse(figures.cached_public_figures())

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mailcatcher import access, selectors
from mailcatcher.models import CapturedMail

# Largest value of the bigint id column: a bigger cursor would make Postgres raise (a 500).
_MAX_ID = 2**63 - 1


def _cursor(raw: str | None) -> int | None:
    """?before=<id>: absent, or a positive id; anything else is the client's error (400)."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _MAX_ID:
        raise BadRequest("before must be a mail id")
    return int(raw)


# never_cache: mail holds account links; no shared or browser cache may keep a copy.
@never_cache
@require_GET
def mail_list(request: HttpRequest) -> HttpResponse:
    if not access.can_open_inbox(request.user):
        raise Http404
    to_username = request.GET.get("to", "").strip()
    before = _cursor(request.GET.get("before"))
    page = selectors.mail_page(
        user=request.user,
        granted_user_ids=access.granted_user_ids(request.session),
        before=before,
        to_username=to_username,
    )
    context = {
        "page": page,
        "paged": before is not None,
        "to_username": to_username,
        "sees_all": access.sees_all_mail(request.user),
        "delivers": bool(settings.MAIL_DELIVERY_BACKEND),
    }
    return render(request, "mailcatcher/mail_list.html", context)


@never_cache
@require_GET
def mail_detail(request: HttpRequest, mail_id: int) -> HttpResponse:
    if not access.can_open_inbox(request.user):
        raise Http404
    try:
        mail = selectors.mail_for_viewer(
            mail_id=mail_id,
            user=request.user,
            granted_user_ids=access.granted_user_ids(request.session),
        )
    except CapturedMail.DoesNotExist:
        raise Http404 from None
    context = {"mail": mail, "sees_all": access.sees_all_mail(request.user)}
    return render(request, "mailcatcher/mail_detail.html", context)

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from mailcatcher import access, selectors
from mailcatcher.models import CapturedMail

# The policy of a mail's HTML document (mail_html): the inline styles mail is written with, but no
# script, no fetch from anywhere (no tracking pixels), framed by our own pages only, and the CSP
# sandbox, so it gets an opaque origin even when opened directly rather than in the detail page's
# sandboxed iframe. Its links may open a new tab that leaves the sandbox, like ordinary links.
MAIL_HTML_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)

# Largest value of the bigint id column: a bigger cursor would make Postgres raise (a 500).
_MAX_ID = 2**63 - 1


def _cursor(raw: str | None) -> int | None:
    """?before=<id>: absent, or a positive id; anything else is the client's error (400)."""
    if raw is None or raw == "":
        return None
    # The length first: int() refuses strings of over 4,300 digits (ValueError, a 500).
    if len(raw) > len(str(_MAX_ID)) or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _MAX_ID:
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
        user=request.user, grants=access.session_grants(request.session), before=before, to_username=to_username
    )
    context = {
        "page": page,
        "paged": before is not None,
        "to_username": to_username,
        "sees_all": access.sees_all_mail(request.user),
        "delivers": bool(settings.MAIL_DELIVERY_BACKEND),
    }
    return render(request, "mailcatcher/mail_list.html", context)


def _mail_or_404(request: HttpRequest, mail_id: int) -> CapturedMail:
    """The mail if this viewer may read it; any other mail is a 404, like one that does not exist."""
    if not access.can_open_inbox(request.user):
        raise Http404
    try:
        return selectors.mail_for_viewer(
            mail_id=mail_id, user=request.user, grants=access.session_grants(request.session)
        )
    except CapturedMail.DoesNotExist:
        raise Http404 from None


@never_cache
@require_GET
def mail_detail(request: HttpRequest, mail_id: int) -> HttpResponse:
    mail = _mail_or_404(request, mail_id)
    context = {"mail": mail, "sees_all": access.sees_all_mail(request.user)}
    return render(request, "mailcatcher/mail_detail.html", context)


@never_cache
@xframe_options_sameorigin
@require_GET
def mail_html(request: HttpRequest, mail_id: int) -> HttpResponse:
    """The mail's HTML body as its own document, for the detail page's iframe (MAIL_HTML_POLICY).
    The <base> makes its links open in a new tab instead of inside the frame."""
    mail = _mail_or_404(request, mail_id)
    if not mail.html_body:
        raise Http404
    response = HttpResponse(f'<base target="_blank">{mail.html_body}', content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = MAIL_HTML_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # the mail's links do not learn its URL
    return response

"""The notifications page and "mark all read". Each view parses input, calls one selector or
service and renders. Only one's own notifications exist here: no id of anybody's is taken from
the request (the page is the viewer's, the POST marks the viewer's own)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from notifications import selectors, services
from tweethub.cursors import before_cursor


@require_safe
@login_required
def notifications_list(request: HttpRequest) -> HttpResponse:
    before, user = before_cursor(request), cast(User, request.user)
    page = selectors.notifications_page(user_id=user.pk, before=before, limit=settings.NOTIFICATIONS_PAGE_SIZE)
    context = {"page": page, "first_page": before is None, "up_to": selectors.newest_seq(user.pk)}
    return render(request, "notifications/list.html", context)


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Marks read what the page showed (`up_to`, the newest seq it had), or everything without it;
    a malformed value is ignored like a missing one (the marking is the viewer's own, and harmless)."""
    raw = request.POST.get("up_to", "")
    up_to = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    changed = services.notifications_mark_all_read(user=cast(User, request.user), up_to=up_to)
    messages.success(request, "All caught up." if changed else "Nothing new to mark.")
    return redirect(reverse("notifications:list"))

"""Reporting (any member) and the staff pages: the report queue, the audit log, the user list.
Staff routes answer 404 to members who are not staff (their existence is nobody else's business)
and send anonymous visitors to log in; the services check staff again, whatever calls them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from moderation import selectors, services
from moderation.forms import ReportForm, StaffNoteForm
from moderation.models import ReportKind
from tweethub.cursors import before_cursor
from tweethub.http import safe_next

View = Callable[..., HttpResponse]


def staff_only(view: View) -> View:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, kind: str, target_id: int) -> HttpResponse:
    viewer = cast(User, request.user)
    try:
        target = selectors.report_target(kind=kind, target_id=target_id, viewer=viewer)
    except ObjectDoesNotExist:
        raise Http404("Nothing to report here") from None
    back = safe_next(request, target.back_url)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(reporter=viewer, kind=kind, target_id=target_id, **form.cleaned_data)
        except services.AlreadyReported:
            messages.info(request, "You have already reported this. Our team will look at it.")
            return redirect(back)
        except ObjectDoesNotExist:
            raise Http404("Nothing to report here") from None
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, "Thank you. Our team will review your report.")
            return redirect(back)
    context = {"form": form, "target": target, "kind_label": ReportKind(kind).label.lower(), "back": back}
    return render(request, "moderation/report.html", context, status=400 if form.errors else 200)


@staff_only
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    context = {"items": selectors.open_reports(), "open_count": selectors.open_report_count()}
    return render(request, "moderation/queue.html", context)


@staff_only
@require_GET
def log(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/log.html", {"page": selectors.audit_log(before=before_cursor(request))})


USER_STATUSES = {"": "Everyone", "suspended": "Suspended", "unverified": "Unverified", "staff": "Staff"}


@staff_only
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100].replace("\x00", "")
    status = request.GET.get("status", "")
    if status not in USER_STATUSES:
        status = ""
    page = selectors.staff_user_list(query=query, status=status, before=before_cursor(request))
    context = {"page": page, "query": query, "status": status, "statuses": USER_STATUSES}
    return render(request, "moderation/users.html", context)


def _act(request: HttpRequest, action: Callable[[User, StaffNoteForm], str]) -> HttpResponse:
    """Run a staff action from a POST form, with its message, and go back where it was asked."""
    form = StaffNoteForm(request.POST)
    back = safe_next(request, reverse("moderation:queue"))
    if not form.is_valid():
        messages.error(request, "That note is too long (at most 500 characters).")
        return redirect(back)
    try:
        messages.success(request, action(cast(User, request.user), form))
    except ObjectDoesNotExist:
        messages.error(request, "That is already gone.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied as error:
        messages.error(request, str(error))
    return redirect(back)


@staff_only
@require_POST
def dismiss(request: HttpRequest, report_id: int) -> HttpResponse:
    def run(moderator: User, form: StaffNoteForm) -> str:
        services.report_dismiss(moderator=moderator, report_id=report_id, note=form.cleaned_data["note"])
        return "Report dismissed."

    return _act(request, run)


@staff_only
@require_POST
def tweet_delete(request: HttpRequest, tweet_id: int) -> HttpResponse:
    def run(moderator: User, form: StaffNoteForm) -> str:
        note, report_id = form.cleaned_data["note"], form.cleaned_data["report"]
        services.tweet_takedown(moderator=moderator, tweet_id=tweet_id, report_id=report_id, note=note)
        return "Tweet deleted. It is leaving every timeline."

    return _act(request, run)


@staff_only
@require_POST
def suspend(request: HttpRequest, user_id: int) -> HttpResponse:
    def run(moderator: User, form: StaffNoteForm) -> str:
        note, report_id = form.cleaned_data["note"], form.cleaned_data["report"]
        if services.account_suspend(moderator=moderator, user_id=user_id, report_id=report_id, note=note):
            return "Account suspended. Its tweets are leaving every timeline."
        return "That account was already suspended."

    return _act(request, run)


@staff_only
@require_POST
def unsuspend(request: HttpRequest, user_id: int) -> HttpResponse:
    def run(moderator: User, form: StaffNoteForm) -> str:
        done = services.account_unsuspend(moderator=moderator, user_id=user_id, note=form.cleaned_data["note"])
        return "Suspension lifted. Its tweets are coming back." if done else "That account was not suspended."

    return _act(request, run)

"""Direct message pages. Each view parses input, calls one service or selector, and renders.

Everything here needs a login (anonymous visitors go to the login page). A conversation is
addressed by the other person's username, so /messages/<x>/ always shows the viewer's own
conversation with x: no URL names a conversation the viewer is not part of, and the one
id-addressed URL (the permalink) answers 404 to anyone outside it. Unknown people and yourself
are 404; a refused message is a 403 page that says why; a malformed cursor is 400.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from accounts.selectors import profile_by_username
from messaging import selectors, services
from messaging.forms import MessageForm
from messaging.models import Conversation
from tweethub.cursors import before_cursor
from tweethub.usernames import USERNAME_PATTERN

# Conversations per inbox page, and messages per conversation page.
INBOX_PAGE_SIZE = 30
THREAD_PAGE_SIZE = 50


def _other_person(request: HttpRequest, username: str) -> User:
    name = username.removeprefix("@").strip()
    try:
        # Not a username (a NUL, which Postgres refuses in a query, among others): nobody to look up.
        if not USERNAME_PATTERN.fullmatch(name):
            raise User.DoesNotExist
        other = profile_by_username(name)
    except User.DoesNotExist:
        raise Http404("No such user") from None
    if other.pk == request.user.pk:
        raise Http404("There is no conversation with yourself")
    return other


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """The viewer's conversations, newest first. ?to=<username> opens (or starts) one."""
    to = request.GET.get("to", "").strip()
    error = ""
    if to:
        try:
            return redirect("messaging:conversation", username=_other_person(request, to).username)
        except Http404:
            error = f"There is nobody else called “{to}” on TweetHub."
    page = selectors.inbox_page(
        user_id=cast(User, request.user).pk, before=before_cursor(request), limit=INBOX_PAGE_SIZE
    )
    context = {"page": page, "to": to, "error": error, "first_page": "before" not in request.GET}
    return render(request, "messaging/inbox.html", context, status=404 if error else 200)


@login_required
@require_safe
def permalink(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A conversation by id, for its two participants only (404 for everyone else)."""
    user = cast(User, request.user)
    try:
        conversation = selectors.conversation_of_participant(conversation_id=conversation_id, user_id=user.pk)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation") from None
    other = conversation.user_high if conversation.user_low_id == user.pk else conversation.user_low
    return redirect("messaging:conversation", username=other.username)


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, username: str) -> HttpResponse:
    """The viewer's conversation with `username`: GET reads it (and marks it read on its latest
    page), POST sends the form's `text` and comes back here; a refused text is shown beside the
    field, kept, with status 400."""
    user = cast(User, request.user)
    other = _other_person(request, username)
    if request.method == "GET" and other.username != username:
        return redirect("messaging:conversation", username=other.username)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.message_send(sender=user, recipient=other, text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error(None, error)  # a {"text": ...} error lands beside the field
        else:
            return redirect("messaging:conversation", username=other.username)
    before = before_cursor(request) if request.method == "GET" else None
    found = selectors.conversation_between(user_id=user.pk, other_id=other.pk)
    if found is not None and before is None and request.method == "GET":
        services.conversation_mark_read(conversation=found, user=user)
    context = {
        "other": other, "conversation": found, "form": form, "latest": before is None,
        "page": selectors.thread_page(conversation=found, before=before, limit=THREAD_PAGE_SIZE),
        "refusal": selectors.send_refusal(sender=user, recipient=other) if user.is_verified else None,
    }  # fmt: skip
    return render(request, "messaging/conversation.html", context, status=400 if request.method == "POST" else 200)

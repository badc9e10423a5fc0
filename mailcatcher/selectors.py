"""Reads of the mail catcher. Every query that can return a mail goes through `mails_visible_to`,
so the visibility rule (mailcatcher.access) is applied in exactly one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Left

from mailcatcher import access
from mailcatcher.models import CapturedMail
from tweethub.usernames import USERNAME_PATTERN

# Mails per list page: enough to scan a demo session's mail at a glance, small enough to render
# fast when staff page through everything.
MAILS_PER_PAGE = 50
# Characters of the text body shown under each subject in the list.
PREVIEW_CHARS = 160

_Recipient = CapturedMail.recipients.through


@dataclass(frozen=True)
class MailPage:
    mails: Sequence[CapturedMail]
    # Cursor for the next (older) page, as ?before=<id>; None on the last page.
    next_before: int | None


def mails_visible_to(*, user: AbstractBaseUser | AnonymousUser, grants: Sequence[str] = ()) -> QuerySet[CapturedMail]:
    """Every mail `user` may read, newest first, with linked recipient accounts prefetched.

    Active staff: all mail. Demo mode: mail linked to the account `user` is logged into
    (access.own_account_ids), and mail carrying one of `grants` (the session's grants,
    access.session_grants). Otherwise none.
    """
    mails = CapturedMail.objects.order_by("-id").prefetch_related(
        Prefetch(
            "recipients",
            queryset=get_user_model().objects.only("pk", "username").order_by("username"),
        )
    )
    if access.sees_all_mail(user):
        return mails
    account_ids, grants = access.own_account_ids(user), [grant for grant in grants if grant]
    if not access.can_open_inbox(user) or not (account_ids or grants):
        return mails.none()
    # EXISTS rather than a join: a mail sent to two of the viewer's addresses is still one row,
    # without a DISTINCT that would sort the whole result.
    own = Exists(_Recipient.objects.filter(capturedmail=OuterRef("pk"), user_id__in=account_ids))
    return mails.filter(own | Q(session_grant__in=grants)) if grants else mails.filter(own)


def mail_page(
    *,
    user: AbstractBaseUser | AnonymousUser,
    grants: Sequence[str] = (),
    before: int | None = None,
    to_username: str = "",
    size: int = MAILS_PER_PAGE,
) -> MailPage:
    """One page of the inbox: the `size` newest visible mails older than id `before`, optionally
    only those linked to the account named `to_username` (case-insensitive). Two queries whatever
    the page size (mails, then their recipients). Bodies and headers are not loaded; each mail
    carries `preview`, the start of its text body."""
    mails = mails_visible_to(user=user, grants=grants)
    if to_username and not USERNAME_PATTERN.fullmatch(to_username):
        # Names nobody (and a NUL, which Postgres refuses in a query): no mail, without asking.
        mails = mails.none()
    elif to_username:
        mails = mails.filter(
            Exists(_Recipient.objects.filter(capturedmail=OuterRef("pk"), user__username__iexact=to_username))
        )
    if before is not None:
        mails = mails.filter(pk__lt=before)
    rows = list(
        mails.defer("text_body", "html_body", "headers").annotate(preview=Left("text_body", PREVIEW_CHARS))[: size + 1]
    )
    # One extra row tells whether an older page exists without a COUNT over everything.
    has_more = len(rows) > size
    rows = rows[:size]
    return MailPage(mails=rows, next_before=rows[-1].pk if has_more else None)


def mail_for_viewer(
    *, mail_id: int, user: AbstractBaseUser | AnonymousUser, grants: Sequence[str] = ()
) -> CapturedMail:
    """Mail `mail_id` if `user` may read it. Raises CapturedMail.DoesNotExist both when it does not
    exist and when it is not visible, so callers cannot tell the two apart."""
    return mails_visible_to(user=user, grants=grants).get(pk=mail_id)

"""The home page's first page, assembled from a frame kept in memory and the timeline of the request.

Everything on the home page but the timeline (layout, header, nav, compose form, trending sidebar,
footer) is the same for every view of a given member within the sidebar's lifetime, yet rendering
it through the template engine (an extended base, blocks, includes, tags) was most of a warm
page's CPU once the timeline came from one Redis call. So the page is rendered once per distinct
frame (the member's header facts, whether they may tweet, the current sidebar) with a marker where
the timeline goes, and kept in this process (an LRU of PAGE_CHROME_CACHE_SIZE frames); each request
renders only timelines/_timeline.html and fills the marker and the CSRF tokens in.

What must never leak from the request that rendered a frame first:
  - CSRF tokens: every `csrfmiddlewaretoken` value in the frame is replaced by a marker before it is
    kept, and each request fills in its own masked token (`get_token`);
  - flash messages: a request with messages to show renders the whole page instead (they are
    consumed when shown, so they must not be kept);
  - the path: only GET / with no query string is assembled (the header's next= path is "/").
Markers are random per process, so no user-written text can forge one; the frame key holds the
username, so members never share a frame. Under DEBUG nothing is kept; a changed setting drops
every frame.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.utils.safestring import mark_safe

from tweethub.templatetags.chrome import FRAME_CONTEXT, fill_badges, header_facts
from tweets.forms import TweetForm
from tweets.selectors import TweetPage
from tweets.templatetags.trending import trending_sidebar

_TIMELINE = f"timeline{secrets.token_hex(16)}"
_CSRF = f"csrf{secrets.token_hex(16)}"
_TOKEN_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')

_frames: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_frames_lock = threading.Lock()  # sync views may run in several threads of one process


def can_assemble(request: HttpRequest) -> bool:
    """The first page of a plain GET / with no message to show (see the module docstring)."""
    return not settings.DEBUG and not request.GET and len(get_messages(request)) == 0


def _frame(request: HttpRequest) -> str:
    user: Any = request.user
    sidebar = str(trending_sidebar())
    key = (header_facts(request), bool(user.is_verified), sidebar)
    with _frames_lock:
        frame = _frames.get(key)
        if frame is not None:
            _frames.move_to_end(key)
            return frame
    context = {
        "page": TweetPage(items=[], next_cursor=None),
        "form": TweetForm(),
        "first_page": True,
        "timeline_marker": mark_safe(_TIMELINE),  # noqa: S308 - a marker of our own
        FRAME_CONTEXT: True,  # the unread badges stay markers: each request fills its own
    }
    html = render_to_string("timelines/home.html", context, request=request)
    frame = _TOKEN_FIELD.sub(rf"\g<1>{_CSRF}\g<2>", html)
    with _frames_lock:
        _frames[key] = frame
        if len(_frames) > settings.PAGE_CHROME_CACHE_SIZE:
            _frames.popitem(last=False)
    return frame


def assemble(request: HttpRequest, page: TweetPage) -> str:
    """The home page's HTML for this request: the kept frame, this request's timeline and tokens."""
    token = get_token(request)
    # A plain context, not a RequestContext: the partial needs these values (the owner's controls
    # under their tweets read user, request and csrf_token), not every context processor.
    timeline = get_template("timelines/_timeline.html").render(
        {"page": page, "first_page": True, "user": request.user, "request": request, "csrf_token": token}
    )
    before, after = fill_badges(_frame(request), request).split(_TIMELINE, 1)
    return before.replace(_CSRF, token) + timeline + after.replace(_CSRF, token)


def forget(**_: object) -> None:
    """Drop every kept frame (the next page renders them afresh)."""
    with _frames_lock:
        _frames.clear()


setting_changed.connect(forget, dispatch_uid="timelines.page.forget")

from __future__ import annotations

import errno
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve
from psycopg_pool import PoolTimeout

from tweethub.health import may_see_details, run_checks


@require_GET
def media(request: HttpRequest, path: str) -> FileResponse:
    """Uploaded avatars, read-only from MEDIA_ROOT (serve() refuses paths that escape it). File
    names are unique per upload, so they may be cached for long."""
    try:
        response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    except OSError as error:
        # A name longer than the file system allows names no file; serve() only expects "not found".
        if error.errno != errno.ENAMETOOLONG:
            raise
        raise Http404("No such file") from None
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when Postgres, Redis, the broker and a worker all answer; 503 naming what does not.
    Up or down per part for everyone; versions, hosts and errors only to staff and this machine."""
    report = run_checks()
    return JsonResponse(report.as_dict(detailed=may_see_details(request)), status=200 if report.ok else 503)


# Seconds a browser or crawler is told to wait before retrying while the database is away.
DATABASE_DOWN_RETRY_AFTER = 30
# ... and while this process's connection pool is exhausted (busy, not down: try again soon).
POOL_EXHAUSTED_RETRY_AFTER = 2


def _pool_is_full() -> bool:
    """A PoolTimeout (Django wraps it) means either every connection is in use (busy: retry soon) or
    none could be made (Postgres away: the pool drops broken connections, so it is not full)."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return False
    return int(pool.get_stats().get("pool_size", 0)) >= int(pool.max_size)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unhandled exception anywhere (view or middleware); see server_error_page."""
    return server_error_page(sys.exc_info()[1])


def server_error_page(error: BaseException | None) -> HttpResponse:
    """The page for an unhandled exception. If it is the database being unreachable, say so with a
    503 and Retry-After: the site is down for a moment, not broken, and nothing the visitor did is
    lost. Rendered without a request context, because context processors would reach for the very
    database (and session) that failed. Also used under DEBUG (tweethub.middleware.ErrorPagesMiddleware)."""
    # OperationalError: refused, reset, the pool timing out, the server shutting down, or a
    # statement cancelled for taking too long. A query that is simply wrong (ProgrammingError,
    # IntegrityError, ...) remains a 500: that is a bug to fix, not an outage to wait out.
    if isinstance(error, OperationalError | InterfaceError):
        response = HttpResponse(render_to_string("503.html"), status=503)
        busy = isinstance(error.__cause__, PoolTimeout) and _pool_is_full()
        response["Retry-After"] = str(POOL_EXHAUSTED_RETRY_AFTER if busy else DATABASE_DOWN_RETRY_AFTER)
        return response
    return HttpResponse(render_to_string("500.html"), status=500)


# handler400/403/404 (tweethub.urls, and ErrorPagesMiddleware under DEBUG): the site's own pages, in
# the site's layout. None shows the exception's text except the 403: a PermissionDenied's message is
# ours, written for the person refused; a 404's may list the URL patterns, a 400's name a setting.


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"exception": str(exception or "")}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def method_not_allowed(request: HttpRequest, allow: str) -> HttpResponse:
    """The 405 page for a request a view refused by method (require_GET, require_POST, ...), whose
    own answer is empty. `allow`: the methods the view accepts (the Allow header, kept)."""
    response = render(request, "405.html", {"allow": allow}, status=405)
    response["Allow"] = allow
    return response

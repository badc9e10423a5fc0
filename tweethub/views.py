from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve

from tweethub.health import run_checks


@require_GET
def media(request: HttpRequest, path: str) -> FileResponse:
    """Uploaded avatars, read-only from MEDIA_ROOT (serve() refuses paths that escape it). File
    names are unique per upload, so they may be cached for long."""
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when Postgres, Redis, the broker and a worker all answer; 503 naming what does not."""
    report = run_checks()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)

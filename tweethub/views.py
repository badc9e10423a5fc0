from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tweethub.health import run_checks


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when Postgres, Redis, the broker and a worker all answer; 503 naming what does not."""
    report = run_checks()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)

"""/api/v1/: the API's operations, its schema and docs; anything else under it is a JSON 404
(problem+json), not the site's HTML page, and a method a route does not take a JSON 405."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from api.api import api
from api.problems import problem_response


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem_response(404, "There is no such API operation. The list: /api/v1/docs/.")


def _json_not_allowed(view: Callable[..., Any]) -> Callable[..., Any]:
    """ninja answers a method a route lacks with a plain-text 405: give it the problem shape."""

    @functools.wraps(view)  # keeps ninja's csrf_exempt mark
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            detail = f"This operation takes {response['Allow']}."
            return problem_response(405, detail, headers={"Allow": response["Allow"]})
        return response  # type: ignore[no-any-return]

    return wrapped


_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    if isinstance(_pattern, URLPattern):
        _pattern.callback = _json_not_allowed(_pattern.callback)

urlpatterns = [
    path("", include((_patterns, _app_name), namespace=_namespace)),
    # [\s\S], not ".": a path with a newline in it (%0A) must get the JSON 404 too, not the site's page.
    re_path(r"^(?P<rest>[\s\S]*)$", not_found, name="api_not_found"),
]

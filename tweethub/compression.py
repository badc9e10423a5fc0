"""Response compression: Django's GZipMiddleware, for text only.

Django's middleware compresses whatever reaches it, and a file response is compressed chunk by
chunk whether or not it shrinks. Ours are avatars (WebP: already compressed, gzip only makes them
bigger and drops their Content-Length); static files never get here (WhiteNoise answers them above
this middleware, with its own precompressed copies). So only text types are compressed.

BREACH: Django (4.2+) pads each compressed response with a random number of bytes (Heal The
Breach), and CSRF tokens are masked afresh for every request, so a secret on a page does not repeat
across responses in a way compression could leak.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml")


class TextGZipMiddleware(GZipMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        content_type = response.get("Content-Type", "").lower()
        if not content_type.startswith(_TEXT_TYPES) and "+json" not in content_type and "+xml" not in content_type:
            return response
        return super().process_response(request, response)

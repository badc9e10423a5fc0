"""Pages leave gzip-compressed when the client accepts it (tweethub.compression, Django's
GZipMiddleware with its BREACH padding); images and clients that do not ask are left alone."""

from __future__ import annotations

import gzip
import os
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_user
from tweets.models import Tweet

pytestmark = pytest.mark.django_db

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _vary(response: Any) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


def _page(body: bytes) -> bytes:
    """The page without what differs on every request (the masked CSRF tokens)."""
    return TOKEN.sub(b"TOKEN", body)


def test_a_page_is_gzip_encoded_when_the_client_accepts_it() -> None:
    ann = make_user("ann")
    for n in range(20):
        Tweet.objects.create(author=ann, text=f"Tweet {n}: #compression makes pages small https://example.com/{n}")
    client = Client()
    client.force_login(ann)

    plain = client.get(f"/@{ann.username}/")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain
    assert "accept-encoding" in _vary(plain)  # a shared cache must not hand gzip to a client without it

    packed = client.get(f"/@{ann.username}/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "accept-encoding" in _vary(packed)
    assert int(packed["Content-Length"]) == len(packed.content)
    assert _page(gzip.decompress(packed.content)) == _page(plain.content)
    assert len(packed.content) < len(plain.content) / 4


def test_responses_are_padded_against_breach() -> None:
    """Django adds 0-99 random bytes to each compressed response (the gzip file name), so equal pages
    do not compress to equal lengths."""
    client = Client()
    lengths = {len(client.get("/", HTTP_ACCEPT_ENCODING="gzip").content) for _ in range(12)}
    assert len(lengths) > 1


def test_json_is_compressed_too() -> None:
    client = Client()
    client.force_login(make_user("root", is_staff=True))
    response = client.get("/admin/figures.json", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"{")


def test_avatars_are_not_recompressed() -> None:
    """An avatar is WebP, already compressed: gzip would only make it bigger (and chunked)."""
    avatars = settings.MEDIA_ROOT / "avatars"
    avatars.mkdir(parents=True)
    (avatars / "a.webp").write_bytes(b"RIFF" + os.urandom(4000))
    response = Client().get("/media/avatars/a.webp", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert len(b"".join(response.streaming_content)) == 4004  # type: ignore[attr-defined]

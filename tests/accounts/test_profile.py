"""Public profiles and profile editing, avatars included."""

from __future__ import annotations

import io
import os
import struct
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.models import User
from tests.factories import make_user


def _png(width: int = 300, height: int = 200, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header declaring a huge canvas: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _form(**overrides: object) -> dict[str, object]:
    return {
        "name": "Wendy",
        "bio": "",
        "location": "",
        "website": "",
        **overrides,
    }


@pytest.mark.django_db
def test_public_profile_is_escaped_and_found_case_insensitively(client: Client) -> None:
    make_user("Wendy", name="<b>Wendy</b>", bio="<script>alert(1)</script>", website="https://w.example/")
    page = client.get("/@Wendy/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "&lt;b&gt;Wendy&lt;/b&gt;" in html
    assert 'href="https://w.example/" rel="nofollow ugc noopener noreferrer"' in html

    redirect = client.get("/@wENDY/")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/@Wendy/"
    assert client.get("/@nobody/").status_code == 404
    assert client.get("/@not-a-username/").status_code == 404


@pytest.mark.django_db
def test_profile_edit_saves_fields(client: Client) -> None:
    user = make_user("xena")
    client.force_login(user)
    response = client.post(
        "/settings/profile/",
        _form(name="Xena W.", bio="Warrior.\\nPrincess.", location="Amphipolis",
              website="xena.example", latitude="40.8", longitude="23.85"),  # ignored: see the Location page
    )  # fmt: skip
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.name, user.location, user.website) == (
        "Xena W.",
        "Amphipolis",
        "https://xena.example",
    )
    # Position fields moved to /settings/location/, which has its own rate limit and rules.
    assert (user.latitude, user.longitude) == (None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "required"),
        ({"bio": "b" * 161}, "bio", "at most 160"),
        ({"location": "l" * 31}, "location", "at most 30"),
        ({"website": "javascript:alert(1)"}, "website", "valid URL"),
    ],
)
def test_profile_edit_refuses_bad_input_and_changes_nothing(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    user = make_user("yuri", name="Yuri")
    client.force_login(user)
    response = client.post("/settings/profile/", {**_form(name="Changed"), **overrides})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    user.refresh_from_db()
    assert user.name == "Yuri"


@pytest.mark.django_db
def test_avatar_is_reencoded_square_webp_and_served(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    user = make_user("zoe")
    client.force_login(user)
    upload = SimpleUploadedFile("me.png", _png(300, 200), content_type="image/png")
    assert client.post("/settings/profile/", _form(name="Zoe", avatar=upload)).status_code == 302

    user.refresh_from_db()
    assert user.avatar.name.endswith(".webp")
    with Image.open(user.avatar.path) as stored:
        assert (stored.format, stored.size) == ("WEBP", (400, 400))
    served = client.get(user.avatar.url)
    assert served.status_code == 200
    assert user.avatar.url in client.get("/@zoe/").content.decode()

    old_path = user.avatar.path
    # The old file is deleted only once the new row has committed.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/profile/", _form(name="Zoe", remove_avatar="on"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.avatar
    assert not os.path.exists(old_path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.png", b"this is not an image at all", "not an image"),
        ("big.png", b"\\x89PNG" + b"0" * (2 * 1024 * 1024 + 1), "too large"),
        ("bomb.png", _png_claiming(30_000, 30_000), "dimensions are too large"),
        ("cut.png", _png()[:200], "damaged"),
    ],
)
def test_bad_avatars_are_refused_with_a_message(client: Client, filename: str, content: bytes, message: str) -> None:
    user = make_user("abby")
    client.force_login(user)
    upload = SimpleUploadedFile(filename, content, content_type="image/png")
    response = client.post("/settings/profile/", _form(name="Changed", avatar=upload))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["avatar"])
    user.refresh_from_db()
    assert user.name == "Abby"
    assert not user.avatar
    assert User.objects.get(pk=user.pk).name == "Abby"


@pytest.mark.django_db
def test_the_account_services_refuse_nul_like_the_tweet_and_message_services() -> None:
    """The forms refuse NUL (Django's CharField); the services must too, as tweet_create and
    message_send do, rather than let Postgres raise DataError (a 500) for any other caller.
    Found by the XSS corpus (tests/browser/test_xss.py)."""
    from django.core.exceptions import ValidationError

    from accounts.services import profile_update, signup_request

    user = make_user("nul", name="Nul")
    for name, bio, location in (("nul\x00name", "", ""), ("Nul", "a\x00b", ""), ("Nul", "", "\x00")):
        with pytest.raises(ValidationError) as refused:
            profile_update(user=user, name=name, bio=bio, location=location, website="")
        assert "cannot store (NUL)" in str(refused.value)
    user.refresh_from_db()
    assert (user.name, user.bio) == ("Nul", "")
    with pytest.raises(ValidationError):
        signup_request(name="a\x00", username="fresh", email="f@example.com", ip="1.2.3.4", base_url="http://t")
    assert not User.objects.filter(username="fresh").exists()


@pytest.mark.django_db
def test_profile_saves_are_rate_limited_per_user_refused_uploads_included(client: Client, settings: Any) -> None:
    """Each save may carry an image to decode: over RATE_LIMIT_PROFILE_PER_USER the next one gets a
    429 page saying why, and changes nothing; refused uploads count too; other users are unaffected."""
    settings.RATE_LIMIT_PROFILE_PER_USER = "3/1h"
    user = make_user("abby")
    client.force_login(user)
    bomb = SimpleUploadedFile("bomb.png", _png_claiming(30_000, 30_000), content_type="image/png")
    assert client.post("/settings/profile/", _form(name="Abby", avatar=bomb)).status_code == 400
    assert client.post("/settings/profile/", _form(name="Abby B.")).status_code == 302
    assert client.post("/settings/profile/", _form(name="Abby C.")).status_code == 302

    upload = SimpleUploadedFile("me.png", _png(), content_type="image/png")
    refused = client.post("/settings/profile/", _form(name="Abby D.", avatar=upload))
    assert refused.status_code == 429
    assert "changed your profile many times" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3600
    user.refresh_from_db()
    assert user.name == "Abby C."
    assert not user.avatar

    other = make_user("bea")
    client.force_login(other)
    assert client.post("/settings/profile/", _form(name="Bea B.")).status_code == 302

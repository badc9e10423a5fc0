"""Avatar uploads under attack and in every shape (issue 17, item 6): uploads that would cost too
much memory are refused from their header with a clear message and change nothing; decoding waits
for one of the process's decode slots; whatever is accepted comes out as the same square WebP
(centred, upright, transparency kept) through the memory-bounded path (draft, strips)."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.avatars import decode_slot
from accounts.models import User
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _streamed_png(width: int, height: int) -> bytes:
    """A uniform RGB PNG of any size, written row by row (the review's 131 KB, 40 Mpx uploads)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x28\x78\xc8" * width
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF) is rewritten to declare a huge canvas."""
    data = bytearray(_encode(Image.new("RGB", (16, 16), "red"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("P", (16, 16), 1), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen size
    return bytes(data)


def _post_avatar(client: Client, content: bytes, name: str = "me.png") -> Any:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(
        "/settings/profile/", {"name": "Changed", "bio": "", "location": "", "website": "", "avatar": upload}
    )


def _stored(user: User) -> Image.Image:
    user.refresh_from_db()
    with Image.open(user.avatar.path) as stored:
        assert (stored.format, stored.size) == ("WEBP", (400, 400))
        return stored.copy()


def _assert_refused(response: Any, user: User, message: str) -> None:
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["avatar"])
    assert message in errors, errors
    user.refresh_from_db()
    assert user.name == "Abby"
    assert not user.avatar


def test_the_reviews_40_megapixel_png_is_refused_from_its_header(client: Client) -> None:
    """The review sent eight of these at once (131 KB each) and the web workers reached 3.9 GB: at
    the default limit it is refused before any pixel is decoded, with the limit in the message."""
    user = make_user("abby")
    client.force_login(user)
    review = _streamed_png(7302, 5477)
    assert len(review) < 200 * 1024
    _assert_refused(_post_avatar(client, review), user, "at most 16 megapixels (for example 4,618 x 3,464)")


def test_the_pixel_limit_is_the_setting_and_inclusive(client: Client, settings: Any) -> None:
    settings.AVATAR_MAX_PIXELS = 1_000_000
    user = make_user("abby")
    client.force_login(user)
    _assert_refused(_post_avatar(client, _streamed_png(1001, 1000)), user, "at most 1 megapixels")
    assert _post_avatar(client, _streamed_png(1000, 1000)).status_code == 302
    assert _stored(user).getpixel((200, 200)) == pytest.approx((40, 120, 200), abs=3)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("huge.jpg", _jpeg_claiming(20_000, 20_000), "dimensions are too large"),
        ("wide.jpg", _jpeg_claiming(65_000, 300), "dimensions are too large"),
        ("huge.gif", _gif_claiming(65_535, 65_535), "dimensions are too large"),
        ("huge.webp", _encode(Image.new("L", (1100, 1000)), "WEBP", lossless=True), "dimensions are too large"),
        ("empty.png", b"", "empty"),
        (
            "pic.bmp",
            _encode(Image.new("RGB", (60, 50), "red"), "BMP"),
            "not an image we can read. Please upload a JPEG, PNG, GIF or WebP",
        ),
        ("cut.jpg", _encode(Image.new("RGB", (600, 500), "red"), "JPEG", quality=95)[:700], "damaged"),
        ("crc.png", _streamed_png(300, 200)[:-20] + b"\x00" * 4 + _streamed_png(300, 200)[-16:], "damaged"),
        ("cut.webp", _encode(Image.new("RGB", (600, 500), "red"), "WEBP")[:60], "damaged or incomplete"),
    ],
)
def test_bad_uploads_are_refused_with_a_message_and_change_nothing(
    client: Client, settings: Any, name: str, content: bytes, message: str
) -> None:
    settings.AVATAR_MAX_PIXELS = 1_000_000  # the WebP stays small to make; the others claim far more
    user = make_user("abby")
    client.force_login(user)
    _assert_refused(_post_avatar(client, content, name), user, message)


def _bands(width: int, height: int, colors: list[str], margin: str) -> Image.Image:
    """Horizontal bands of `colors` over the centred square, `margin` in the cropped-off sides."""
    image = Image.new("RGB", (width, height), margin)
    left, band = (width - height) // 2, height // len(colors)
    for n, color in enumerate(colors):
        image.paste(color, (left, n * band, left + height, (n + 1) * band))
    return image


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_large_image_is_cropped_and_reduced_strip_by_strip_into_the_same_picture(client: Client, fmt: str) -> None:
    """2,000 rows reduced by 2 (JPEG: decoded at 1/4) in strips of ~500 rows: each band lands where
    it was, whole, and the sides beyond the centred square are cut off."""
    user = make_user("abby")
    client.force_login(user)
    colors = ["red", "lime", "blue", "yellow"]
    content = _encode(_bands(2600, 2000, colors, margin="black"), fmt)
    assert _post_avatar(client, content, f"bands.{fmt.lower()}").status_code == 302
    stored = _stored(user)
    expected = [Image.new("RGB", (1, 1), color).getpixel((0, 0)) for color in colors]
    for n, color in enumerate(expected):
        for x in (3, 200, 396):
            assert stored.getpixel((x, n * 100 + 50)) == pytest.approx(color, abs=12), (n, x)


def test_exif_orientation_is_applied(client: Client) -> None:
    """A phone photo stored sideways with Orientation 6 (rotate 90 degrees clockwise to view):
    its left half is the top of the avatar."""
    user = make_user("abby")
    client.force_login(user)
    image = Image.new("RGB", (1800, 1200), "blue")
    image.paste("red", (0, 0, 900, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6
    assert _post_avatar(client, _encode(image, "JPEG", exif=exif), "side.jpg").status_code == 302
    stored = _stored(user)
    assert stored.getpixel((200, 40)) == pytest.approx((255, 0, 0), abs=12)
    assert stored.getpixel((200, 360)) == pytest.approx((0, 0, 255), abs=12)


def test_transparency_is_kept_without_dark_fringes(client: Client) -> None:
    """Reduced premultiplied: where the white half meets the transparent (black) one, the colour
    stays white and only the alpha fades."""
    user = make_user("abby")
    client.force_login(user)
    image = Image.new("RGBA", (2400, 2400), (0, 0, 0, 0))
    image.paste((255, 255, 255, 255), (1201, 0, 2400, 2400))  # reduced by 3: 1200-1202 mix both halves
    assert _post_avatar(client, _encode(image, "PNG")).status_code == 302
    stored = _stored(user)
    assert stored.mode == "RGBA"
    assert stored.getchannel("A").getpixel((20, 200)) == 0
    assert stored.getpixel((380, 200)) == (255, 255, 255, 255)
    edge = [pixel for x in range(190, 210) if isinstance(pixel := stored.getpixel((x, 200)), tuple)]
    assert len(edge) == 20
    assert all(pixel[:3] >= (235, 235, 235) for pixel in edge if pixel[3] >= 64), edge


def _rgba(color: str) -> Image.Image:
    image = Image.new("RGBA", (600, 500), color)
    image.paste((0, 0, 0, 0), (0, 0, 100, 100))
    return image


@pytest.mark.parametrize(
    ("name", "content", "mode"),
    [
        ("bw.png", _encode(Image.new("1", (600, 500), 1), "PNG"), "RGB"),
        ("grey.png", _encode(Image.new("L", (600, 500), 128), "PNG"), "RGB"),
        ("grey-alpha.png", _encode(Image.new("LA", (600, 500), (128, 200)), "PNG"), "RGBA"),
        ("palette.png", _encode(Image.new("RGB", (600, 500), "red").convert("P"), "PNG"), "RGB"),
        ("palette-clear.png", _encode(Image.new("P", (600, 500), 0), "PNG", transparency=0), "RGBA"),
        ("rgba.png", _encode(_rgba("red"), "PNG"), "RGBA"),
        ("grey.jpg", _encode(Image.new("L", (600, 500), 128), "JPEG"), "RGB"),
        ("cmyk.jpg", _encode(Image.new("CMYK", (600, 500), (0, 255, 255, 0)), "JPEG"), "RGB"),
        ("progressive.jpg", _encode(Image.new("RGB", (3000, 2000), "red"), "JPEG", progressive=True), "RGB"),
        (
            "phone.jpg",  # MPO: a JPEG with a second picture inside, as phones write them
            _encode(
                Image.new("RGB", (600, 500), "red"), "MPO", save_all=True, append_images=[Image.new("RGB", (600, 500))]
            ),
            "RGB",
        ),
        (
            "anim.gif",
            _encode(
                Image.new("RGB", (600, 500), "red"), "GIF", save_all=True, append_images=[Image.new("RGB", (600, 500))]
            ),
            "RGB",
        ),
        ("photo.webp", _encode(Image.new("RGB", (600, 500), "red"), "WEBP"), "RGB"),
        ("sticker.webp", _encode(_rgba("red"), "WEBP", lossless=True), "RGBA"),
    ],
)
def test_every_accepted_kind_of_image_becomes_a_square_webp(
    client: Client, name: str, content: bytes, mode: str
) -> None:
    user = make_user("abby")
    client.force_login(user)
    assert _post_avatar(client, content, name).status_code == 302
    assert _stored(user).mode == mode


def test_decoding_waits_for_a_slot_and_says_so_when_none_frees_up(client: Client, settings: Any) -> None:
    """With the process's only decode slot taken (another upload being decoded), an upload waits
    AVATAR_DECODE_WAIT_SECONDS and is then refused, changing nothing; an upload whose slot frees up
    in time goes through; and refusals from the header do not wait for a slot at all."""
    settings.AVATAR_DECODE_CONCURRENCY = 1
    settings.AVATAR_DECODE_WAIT_SECONDS = 0.2
    user = make_user("abby")
    client.force_login(user)
    picture = _encode(Image.new("RGB", (600, 500), "red"), "PNG")
    with decode_slot():
        _assert_refused(_post_avatar(client, picture), user, "busy processing other pictures. Please try again")
        settings.AVATAR_DECODE_WAIT_SECONDS = 60
        _assert_refused(_post_avatar(client, _streamed_png(7302, 5477)), user, "dimensions are too large")

    taken, release = threading.Event(), threading.Event()

    def other_upload() -> None:
        with decode_slot():
            taken.set()
            release.wait(10)

    other = threading.Thread(target=other_upload)
    other.start()
    taken.wait(10)
    threading.Timer(0.3, release.set).start()
    assert _post_avatar(client, picture).status_code == 302
    other.join()
    assert _stored(user).getpixel((200, 200)) == pytest.approx((255, 0, 0), abs=3)

"""Avatar uploads: accept real images only, and store our own re-encoding of them.

Re-encoding (rather than storing the upload) drops metadata such as GPS EXIF tags, neutralises
files that are images and something else at once, and bounds the size of what we serve.
"""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def process_avatar(upload: UploadedFile) -> ContentFile[bytes]:
    """A square WebP of AVATAR_SIZE pixels made from `upload`, or ValidationError saying why not."""
    if upload.size is None or upload.size > settings.AVATAR_MAX_BYTES:
        limit_mb = settings.AVATAR_MAX_BYTES / (1024 * 1024)
        raise ValidationError(f"The image is too large: the limit is {limit_mb:g} MB.", code="too_large")
    data = upload.read()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise ValidationError("Please upload a JPEG, PNG, GIF or WebP image.", code="format")
                width, height = probe.size
                if width * height > settings.AVATAR_MAX_PIXELS:
                    raise ValidationError("The image's dimensions are too large.", code="too_many_pixels")
                probe.verify()  # structural check; the object is unusable afterwards
            with Image.open(io.BytesIO(data)) as opened:
                opened.seek(0)  # first frame of an animation
                upright = ImageOps.exif_transpose(opened)
                mode = "RGBA" if upright.mode in {"RGBA", "LA", "P"} else "RGB"
                side = settings.AVATAR_SIZE
                square = ImageOps.fit(upright.convert(mode), (side, side), method=Image.Resampling.LANCZOS)
                out = io.BytesIO()
                square.save(out, format="WEBP", quality=85, method=4)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("The image's dimensions are too large.", code="too_many_pixels") from None
    except UnidentifiedImageError:
        raise ValidationError("That file is not an image we can read.", code="invalid") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Truncated or malformed files surface as any of these from Pillow's decoders.
        raise ValidationError("That image file is damaged or incomplete.", code="invalid") from None
    return ContentFile(out.getvalue(), name="avatar.webp")

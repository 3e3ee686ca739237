"""Validate one image and produce the bytes Quarry stores.

Every image is opened under a pixel cap (Pillow's ``DecompressionBombWarning`` turned
into an error, and an explicit width x height check before any pixel is decoded),
fully decoded, and then either kept byte for byte (a clean PNG or JPEG: no metadata
chunks or segments, nothing after the end marker) or re-encoded to PNG with all
metadata dropped (EXIF orientation is applied first so the picture looks the same).

Pure Pillow and the standard library: this module runs in decoder processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from labeling.imports.limits import ImportLimits

# Formats Pillow may open; everything else is "not an image".
OPEN_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Modes PNG stores as they are; anything else is converted to RGB(A) first.
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})
# PNG chunks that carry no metadata worth stripping.
PLAIN_PNG_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD"}
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Rejected(Exception):
    """The file is not stored; ``str(exc)`` is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    ext: str  # "png" or "jpg"
    width: int
    height: int
    sha256: str


@contextlib.contextmanager
def pixel_cap(max_pixels: int) -> Iterator[None]:
    """Pillow's own bomb check at ``max_pixels``, its warning raised as an error."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _open_formats() -> list[str]:
    Image.init()
    return [name for name in OPEN_FORMATS if name in Image.OPEN]


def _bomb_reason(width: int, height: int, cap: int) -> str:
    return (
        f"decompression bomb ({width} x {height} = {width * height:,} pixels; the cap is {cap:,})"
    )


def _failure(exc: Exception) -> Rejected:
    message = str(exc)
    kind = "truncated image" if "truncated" in message.lower() else "corrupt image"
    return Rejected(f"{kind} ({type(exc).__name__}: {message})")


def decode(data: bytes, limits: ImportLimits) -> Image.Image:
    """Open and fully decode ``data``; raise ``Rejected`` with the reason otherwise.

    Call inside ``pixel_cap(limits.max_image_pixels)``.
    """
    if not data:
        raise Rejected("empty file")
    if len(data) > limits.max_image_bytes:
        raise Rejected(
            f"over the byte cap ({len(data):,} bytes; the cap is {limits.max_image_bytes:,})"
        )
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for imports")
    try:
        image = Image.open(io.BytesIO(data), formats=_open_formats())
    except UnidentifiedImageError:
        raise Rejected("not an image (unrecognised or unsupported format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected(f"decompression bomb ({exc})") from None
    except Exception as exc:  # Pillow raises many kinds on malformed headers
        raise _failure(exc) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise Rejected(f"corrupt image (size {width} x {height})")
    if width * height > limits.max_image_pixels:
        raise Rejected(_bomb_reason(width, height, limits.max_image_pixels))
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected(f"decompression bomb ({exc})") from None
    except Exception as exc:
        raise _failure(exc) from None
    if missing_end(image, data):
        raise Rejected(f"truncated image (the {image.format} end marker is missing)")
    return image


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int]]:
    """``(chunk type, offset after the chunk)`` for each complete chunk."""
    offset, end = len(PNG_SIGNATURE), len(data)
    while offset + 12 <= end:
        length, kind = struct.unpack_from(">I4s", data, offset)
        offset += 12 + length
        if offset > end:
            return
        yield kind, offset


def png_is_plain(data: bytes) -> bool:
    """Only pixel and colour chunks, and nothing after IEND."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    for kind, offset in _png_chunks(data):
        if kind not in PLAIN_PNG_CHUNKS:
            return False
        if kind == b"IEND":
            return offset == len(data)
    return False


def missing_end(image: Image.Image, data: bytes) -> bool:
    """A PNG without its IEND chunk, or a JPEG without an end-of-image marker."""
    if image.format == "PNG":
        return not any(kind == b"IEND" for kind, _ in _png_chunks(data))
    if image.format == "JPEG":
        return data.rfind(b"\xff\xd9") < 2
    return False


def jpeg_is_plain(image: Image.Image, data: bytes) -> bool:
    """Only a JFIF (or Adobe colour) segment, no comment, and nothing after EOI."""
    if image.mode not in ("L", "RGB") or not data.endswith(b"\xff\xd9"):
        return False
    if "comment" in image.info or "exif" in image.info or "icc_profile" in image.info:
        return False
    for marker, payload in getattr(image, "applist", []):
        if (marker, payload[:5]) not in (("APP0", b"JFIF\x00"), ("APP14", b"Adobe")):
            return False
    return True


def _png_bytes(image: Image.Image) -> tuple[bytes, tuple[int, int]]:
    if image.getexif():
        image = ImageOps.exif_transpose(image)
    if image.mode not in PNG_MODES:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    # No pnginfo, exif or icc_profile arguments: the new file carries pixels only.
    image.save(buffer, format="PNG")
    return buffer.getvalue(), image.size


def clean_image(data: bytes, limits: ImportLimits) -> CleanImage:
    """The bytes to store for ``data``; raises ``Rejected`` with the reason."""
    with pixel_cap(limits.max_image_pixels):
        image = decode(data, limits)
        fmt = image.format
        if fmt == "PNG" and png_is_plain(data):
            stored, ext = data, "png"
            width, height = image.size
        elif fmt == "JPEG" and jpeg_is_plain(image, data):
            stored, ext = data, "jpg"
            width, height = image.size
        else:
            try:
                stored, (width, height) = _png_bytes(image)
            except Exception as exc:
                raise Rejected(f"corrupt image ({type(exc).__name__}: {exc})") from None
            ext = "png"
    return CleanImage(stored, ext, width, height, hashlib.sha256(stored).hexdigest())

"""One image in, the bytes Quarry stores (or the reason it refuses them) out.

The helpers here build tiny test images; the other import tests use them too.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from labeling.imports.images import Rejected, clean_image, pixel_cap
from labeling.imports.limits import ImportLimits

LIMITS = ImportLimits()


def png(size=(8, 8), color=(10, 20, 30), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def jpeg(size=(16, 16), color=(200, 30, 60), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A 100-byte PNG whose header declares ``width`` x ``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def exif_jpeg() -> bytes:
    """A 20x10 JPEG with a camera make and 'rotate 90 degrees' orientation in EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    return jpeg((20, 10), exif=exif.tobytes())


def reason_of(data: bytes, limits: ImportLimits = LIMITS) -> str:
    with pytest.raises(Rejected) as caught:
        clean_image(data, limits)
    return str(caught.value)


def test_a_plain_png_is_kept_byte_for_byte():
    data = png((7, 5))
    image = clean_image(data, LIMITS)
    assert image.data == data
    assert (image.ext, image.width, image.height) == ("png", 7, 5)
    assert image.sha256 == hashlib.sha256(data).hexdigest()


def test_a_plain_jpeg_is_kept_byte_for_byte():
    data = jpeg()
    image = clean_image(data, LIMITS)
    assert image.data == data and image.ext == "jpg"


def test_png_text_chunks_are_dropped_by_reencoding():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "patient name: secret")
    data = png(pnginfo=info)
    image = clean_image(data, LIMITS)
    assert image.ext == "png" and b"secret" not in image.data
    assert Image.open(io.BytesIO(image.data)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_exif_is_stripped_and_its_orientation_applied():
    image = clean_image(exif_jpeg(), LIMITS)
    assert image.ext == "png"
    assert b"SecretCam" not in image.data
    decoded = Image.open(io.BytesIO(image.data))
    assert not decoded.getexif()
    assert decoded.size == (10, 20) == (image.width, image.height)


def test_bytes_after_the_jpeg_end_marker_force_a_reencode():
    data = jpeg() + b"PK\x03\x04 appended archive"
    image = clean_image(data, LIMITS)
    assert image.ext == "png" and b"PK\x03\x04" not in image.data


def test_other_formats_and_modes_become_png():
    buffer = io.BytesIO()
    Image.new("CMYK", (4, 4), (0, 50, 100, 0)).save(buffer, format="JPEG")
    cmyk = clean_image(buffer.getvalue(), LIMITS)
    assert cmyk.ext == "png" and Image.open(io.BytesIO(cmyk.data)).mode == "RGB"
    buffer = io.BytesIO()
    Image.new("P", (6, 3)).save(buffer, format="GIF")
    gif = clean_image(buffer.getvalue(), LIMITS)
    assert (gif.ext, gif.width, gif.height) == ("png", 6, 3)


def test_rejections_say_why():
    assert reason_of(b"") == "empty file"
    assert reason_of(b"just some text, renamed to .png\n").startswith("not an image")
    assert reason_of(b"%PDF-1.7\n...").startswith("not an image")
    data = jpeg((64, 64))
    assert reason_of(data[: len(data) // 2]).startswith("truncated image")
    assert reason_of(png()[:-20]).startswith(("truncated image", "corrupt image"))
    over = reason_of(png(), ImportLimits(max_image_bytes=50))
    assert over.startswith("over the byte cap") and "the cap is 50" in over


def test_a_header_declaring_ten_billion_pixels_is_a_bomb_under_the_default_cap():
    reason = reason_of(png_bomb())
    assert reason.startswith("decompression bomb")


def test_the_pixel_cap_is_configurable():
    limits = ImportLimits(max_image_pixels=100)
    assert clean_image(png((10, 10)), limits).width == 10
    reason = reason_of(png((11, 10)), limits)
    assert reason.startswith("decompression bomb") and "110 pixels" in reason


def test_pillow_global_cap_is_restored():
    before = Image.MAX_IMAGE_PIXELS
    with pixel_cap(1234):
        assert Image.MAX_IMAGE_PIXELS == 1234
    assert Image.MAX_IMAGE_PIXELS == before


def test_decoder_modules_stay_free_of_django_and_torch():
    import subprocess
    import sys

    code = "import sys, labeling.imports.decode; print('django' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

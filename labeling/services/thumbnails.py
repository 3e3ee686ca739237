"""Grid-mode thumbnails of large images, written once next to the media and reused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from PIL import Image

from labeling.models import Sample

THUMB_SIZE = 256


def thumbnail(sample: Sample) -> str:
    """Storage name of the sample's thumbnail (at most THUMB_SIZE px), made on first use."""
    name = f"thumbs/{sample.sha256[:2]}/{sample.sha256}-{THUMB_SIZE}.png"
    target = Path(settings.MEDIA_ROOT) / name
    if target.exists():
        return name
    target.parent.mkdir(parents=True, exist_ok=True)
    with sample.file.open("rb") as source, Image.open(source) as image:
        image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
        image = image.convert("RGB")
        image.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".png")
        try:
            with os.fdopen(fd, "wb") as out:
                image.save(out, format="PNG")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return name

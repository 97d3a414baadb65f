"""Time a photo's first rendition, which decodes the original, against the stored one.

Usage: .venv/bin/python bench/rendition_cache.py [--megapixels 12 40 79.9] [--faces-dir DIR]

Runs against a throwaway SQLite database and media folder. For each size,
enlarges group/fnp_multiface.jpg (6 faces, 1200×630) with bicubic
interpolation, stores it as a photo, blurs its six faces, and times
events.rendering.stored_rendition for each rendition size twice: first
(decode, blur, resize, encode, store) and again (one database query).
"""

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = Path(tempfile.mkdtemp(prefix="facegate-bench-"))
os.environ.update({"FACEGATE_VAR_DIR": str(WORK_DIR), "DJANGO_SECRET_KEY": "bench", "FACEGATE_STORAGE": "local"})
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from accounts.models import User  # noqa: E402
from events.models import Event, Photo  # noqa: E402
from events.rendering import SIZES, stored_rendition  # noqa: E402
from events.visibility import Rendition  # noqa: E402
from recognition.schemas import Box  # noqa: E402

PHOTO = "group/fnp_multiface.jpg"


def enlarged_jpeg(source: Path, megapixels: float) -> tuple[bytes, float]:
    with Image.open(source) as image:
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        output = io.BytesIO()
        image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(output, format="JPEG", quality=90)
    return output.getvalue(), scale


def face_boxes(scale: float) -> tuple[Box, ...]:
    # Six boxes across the middle of the photo, about where its faces are.
    # The cost of blurring depends on their size, not on their exact place.
    return tuple(
        Box(round((60 + 190 * index) * scale), round(120 * scale), round(110 * scale), round(140 * scale))
        for index in range(6)
    )


def timed(function, *args) -> tuple[object, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, round((time.perf_counter() - started) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[12, 40, 79.9])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    arguments = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    user = User.objects.create_user(username="bench")
    event = Event.objects.create(name="Bench", created_by=user)

    for megapixels in arguments.megapixels:
        data, scale = enlarged_jpeg(arguments.faces_dir / PHOTO, megapixels)
        photo = Photo.objects.create(
            event=event, uploaded_by=user, file=SimpleUploadedFile("bench.jpg", data), checksum=f"bench-{megapixels}"
        )
        rendition = Rendition(blurred_boxes=face_boxes(scale))
        for size in SIZES:
            stored, first_ms = timed(stored_rendition, photo, rendition, size)
            _, again_ms = timed(stored_rendition, photo, rendition, size)
            result = {
                "megapixels": megapixels,
                "size": size,
                "first_ms": first_ms,
                "stored_ms": again_ms,
                "file_bytes": stored.file.size,
            }
            print(json.dumps(result))

    shutil.rmtree(WORK_DIR)


if __name__ == "__main__":
    main()

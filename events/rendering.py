"""Derived images for viewers: resized, with the rendition's faces blurred, and without metadata.

A photo's renditions are stored (events.models.RenditionFile) and reused: one
file per photo, size and set of blurred boxes.
"""

import hashlib
import io
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageCms, ImageFilter

from events.models import Photo, RenditionFile
from events.visibility import Rendition
from recognition.imaging import load_image
from recognition.schemas import Box

logger = logging.getLogger(__name__)

SIZES = {"thumb": 400, "large": 1600, "original": None}
JPEG_QUALITY = 88
# The blurred area reaches this share of the box beyond each side, so that
# hair, ears and chin are covered too.
BLUR_MARGIN = 0.25
# The widened box is pixelated to this many blocks across, then blurred with a
# Gaussian radius of its width divided by BLUR_RADIUS_DIVISOR. Measured with
# bench/blur_strength.py (docs/benchmarks.md) on 51 real photos: with 8 blocks
# and width/16 the product's own detector still found a face on 29 of them
# (the nearest enrolled selfie at 1.12, just beyond the 1.10 threshold). With
# these values it found one blurred face, at 1.16 or more from every selfie.
BLUR_BLOCKS = 6
BLUR_RADIUS_DIVISOR = 8
# Part of every blur key: raise it whenever the output of render_photo
# changes (blur strength, colour handling), so that no stored rendition made
# the old way is served again.
RENDERING_VERSION = 1
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Attempts to store a rendition while concurrent requests store or delete the same one.
_STORE_ATTEMPTS = 3


def stored_rendition(photo: Photo, rendition: Rendition, size: str) -> RenditionFile:
    """Return the stored JPEG of the photo in this rendition and size, rendering it on first use.

    Raises ValueError (recognition.imaging.ImageError) when the photo does not decode.
    """
    key = blur_key(rendition.blurred_boxes)
    existing = _find_rendition(photo, size, key)
    if existing is not None:
        return existing

    data = render_photo(photo, rendition, size)
    return _store_rendition(photo, size, key, data)


def blur_key(boxes: Iterable[Box]) -> str:
    """Return the SHA-256, hex, of the rendering version and the blurred boxes in sorted order."""
    parts = [f"{box.x},{box.y},{box.width},{box.height}" for box in sorted(boxes, key=_box_order)]
    material = f"v{RENDERING_VERSION}|" + ";".join(parts)
    return hashlib.sha256(material.encode()).hexdigest()


def _box_order(box: Box) -> tuple[int, int, int, int]:
    return (box.x, box.y, box.width, box.height)


def _find_rendition(photo: Photo, size: str, key: str) -> RenditionFile | None:
    return RenditionFile.objects.filter(photo=photo, size=size, blur_key=key).first()


def _store_rendition(photo: Photo, size: str, key: str, data: bytes) -> RenditionFile:
    for _attempt in range(_STORE_ATTEMPTS):
        record = RenditionFile(photo=photo, size=size, blur_key=key)
        record.file.save("rendition.jpg", ContentFile(data), save=False)
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:
            # Another request stored the same rendition first: serve theirs.
            record.file.delete(save=False)
        else:
            logger.info("Stored %s rendition %s of photo %s", size, key[:12], photo.id)
            return record

        winner = _find_rendition(photo, size, key)
        if winner is not None:
            return winner
        # The winner was deleted meanwhile (a choice changed): store ours again.

    raise RuntimeError(f"Could not store the {size} rendition {key} of photo {photo.id}.")


def render_photo(photo: Photo, rendition: Rendition, size: str) -> bytes:
    """Return the photo as a JPEG for a viewer, in sRGB and with no EXIF or other metadata.

    Blurring happens at full resolution before resizing, so no size of the
    output can reveal a blurred face. Decodes the original: 2 to 3 s for an
    80-megapixel photo, which is why stored_rendition keeps the result.
    """
    return _render(photo.file, photo.original_name, rendition.blurred_boxes, SIZES[size])


def render_selfie(selfie) -> bytes:
    """Return a selfie thumbnail for its owner, in sRGB and with no metadata."""
    return _render(selfie.file, selfie.original_name, (), SIZES["thumb"])


def _render(file_field, name: str, blurred_boxes: tuple[Box, ...], max_side: int | None) -> bytes:
    with file_field.open("rb") as stream:
        image = load_image(stream.read(), name=name, max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS)

    for box in blurred_boxes:
        blur_region(image, box)

    if max_side is not None:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)

    # Pillow keeps EXIF, XMP and ICC data in info; none of it may leave. The
    # pixels move to sRGB first, so that dropping the profile keeps the colours.
    image = to_srgb(image, file_field.name)
    image.info = {}
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


def to_srgb(image: Image.Image, storage_name: str) -> Image.Image:
    """Convert an RGB image from its embedded ICC profile to sRGB; return it unchanged without one.

    Only RGB profiles apply: a CMYK or grayscale photo was already converted
    to RGB by formula (recognition.imaging.to_rgb), and its profile no longer
    describes the pixels. A profile that lcms cannot read is skipped.
    """
    icc = image.info.get("icc_profile")
    if not icc:
        return image

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "RGB":
            return image
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as error:
        # The storage name holds only ids, unlike the uploader's file name.
        logger.warning("Kept the colours of %s unconverted: its ICC profile failed (%s)", storage_name, error)
        return image


def blur_region(
    image: Image.Image, box: Box, *, blocks: int = BLUR_BLOCKS, radius_divisor: int = BLUR_RADIUS_DIVISOR
) -> None:
    """Make a face unrecognizable in place: pixelate it, then blur the blocks."""
    margin_x = round(box.width * BLUR_MARGIN)
    margin_y = round(box.height * BLUR_MARGIN)
    left = max(0, box.x - margin_x)
    top = max(0, box.y - margin_y)
    right = min(image.width, box.x + box.width + margin_x)
    bottom = min(image.height, box.y + box.height + margin_y)
    if right <= left or bottom <= top:
        return

    region = image.crop((left, top, right, bottom))
    small_size = (blocks, max(1, round(blocks * region.height / region.width)))
    small = region.resize(small_size, Image.Resampling.BILINEAR)
    pixelated = small.resize(region.size, Image.Resampling.NEAREST)
    radius = max(2, region.width // radius_divisor)
    image.paste(pixelated.filter(ImageFilter.GaussianBlur(radius)), (left, top))


def delete_renditions(photo_ids) -> int:
    """Delete the stored renditions of the photos; return how many.

    Called whenever what a rendition shows may change (a choice, a policy, a
    match) and on erasure, so that no derived copy outlives its reason. Each
    file goes once the deletion commits (events.signals), however the row is
    deleted: here, or with its photo or event.
    """
    deleted, _ = RenditionFile.objects.filter(photo_id__in=list(photo_ids)).delete()
    return deleted

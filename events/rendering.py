"""Derived images for viewers: resized, with the rendition's faces blurred, and without metadata."""

import io

from django.conf import settings
from PIL import Image, ImageFilter

from events.models import Photo, RenditionFile
from events.visibility import Rendition
from recognition.imaging import load_image
from recognition.schemas import Box

SIZES = {"thumb": 400, "large": 1600, "original": None}
JPEG_QUALITY = 88
# The blurred area reaches this share of the box beyond each side, so that
# hair, ears and chin are covered too.
BLUR_MARGIN = 0.25


def render_photo(photo: Photo, rendition: Rendition, size: str) -> bytes:
    """Return the photo as a JPEG for a viewer, with no EXIF or other metadata.

    Blurring happens at full resolution before resizing, so no size of the
    output can reveal a blurred face.
    """
    # TODO: cache thumbnails by photo, size and blurred boxes. Every request
    # decodes the original now: 2 to 3 s for an 80-megapixel photo.
    return _render(photo.file, photo.original_name, rendition.blurred_boxes, SIZES[size])


def render_selfie(selfie) -> bytes:
    """Return a selfie thumbnail for its owner, with no metadata."""
    return _render(selfie.file, selfie.original_name, (), SIZES["thumb"])


def _render(file_field, name: str, blurred_boxes: tuple[Box, ...], max_side: int | None) -> bytes:
    with file_field.open("rb") as stream:
        image = load_image(stream.read(), name=name, max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS)

    for box in blurred_boxes:
        blur_region(image, box)

    if max_side is not None:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)

    # Pillow keeps EXIF, XMP and ICC data in info; none of it may leave.
    # NOTE: dropping the ICC profile without converting to sRGB shifts the
    # colours of wide-gamut photos slightly.
    image.info = {}
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


def blur_region(image: Image.Image, box: Box) -> None:
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
    # 8 blocks across leave no facial detail for a person or a face recognizer.
    block_count = 8
    small_size = (block_count, max(1, round(block_count * region.height / region.width)))
    small = region.resize(small_size, Image.Resampling.BILINEAR)
    pixelated = small.resize(region.size, Image.Resampling.NEAREST)
    radius = max(2, region.width // 16)
    image.paste(pixelated.filter(ImageFilter.GaussianBlur(radius)), (left, top))


def delete_renditions(photo_ids) -> int:
    """Delete the stored renditions of the photos, files first; return how many.

    Called whenever what a rendition shows may change (a choice, a policy, a
    match) and on erasure, so that no derived copy outlives its reason.
    """
    deleted = 0
    for rendition in RenditionFile.objects.filter(photo_id__in=list(photo_ids)):
        rendition.file.delete(save=False)
        rendition.delete()
        deleted += 1
    return deleted

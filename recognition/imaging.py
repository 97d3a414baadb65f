"""Safe image loading: any uploaded file becomes an upright RGB image, or an
ImageError whose message names the file and states what the uploader should do.

Imports nothing from Django, so that tests and benchmarks can use it alone.
"""

import io
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Pillow's own decompression-bomb check is replaced by the explicit pixel
# limit below, which gives a message a person can act on.
Image.MAX_IMAGE_PIXELS = None

SUPPORTED_FORMATS = "JPEG, PNG, WebP, GIF, TIFF or HEIC"


class ImageError(ValueError):
    """An upload that cannot be used as a photo. The message is for the uploader."""


def load_image(source: bytes | BinaryIO, *, name: str, max_pixels: int) -> Image.Image:
    """Decode an upload into an upright 8-bit RGB image.

    Honours the EXIF orientation, takes the first frame of an animation,
    flattens transparency onto white and converts CMYK, palette, grayscale
    and 16-bit images. Raises ImageError for what is not an image, is
    damaged, or has more than max_pixels pixels.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes) else source

    image = _open(stream, name)
    _check_size(image, name, max_pixels)
    _decode(image, name)

    image = ImageOps.exif_transpose(image)
    return to_rgb(image)


def load_image_array(source: bytes | BinaryIO, *, name: str, max_pixels: int) -> np.ndarray:
    """Decode an upload into an H×W×3 uint8 RGB array; see load_image."""
    return np.asarray(load_image(source, name=name, max_pixels=max_pixels))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, compositing transparency on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _to_8bit(image)

    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)

    return image.convert("RGB")


def _open(stream: BinaryIO, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(stream)
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image that Facegate can read. Upload a photo in {SUPPORTED_FORMATS} format."
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(
            f"{name} could not be opened ({error}). Export it again as {SUPPORTED_FORMATS} and upload the new file."
        ) from None

    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    return image


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"{name} has no pixels ({width}×{height}). Upload the original photo.")

    if width * height > max_pixels:
        raise ImageError(
            f"{name} is {width}×{height} pixels, more than the limit of "
            f"{max_pixels / 1e6:.0f} million pixels. Resize it to at most "
            f"{max_pixels / 1e6:.0f} megapixels and upload it again."
        )


def _decode(image: Image.Image, name: str) -> None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(
            f"{name} is truncated or damaged ({error}). "
            "Copy it again from the camera or export it again, then upload the new file."
        ) from None


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or float grayscale image to 8 bits by its own range."""
    pixels = np.asarray(image, dtype=np.float64)
    low, high = float(pixels.min()), float(pixels.max())
    if high <= low:
        scaled = np.zeros_like(pixels)
    else:
        scaled = (pixels - low) * (255.0 / (high - low))
    return Image.fromarray(scaled.astype(np.uint8), mode="L")


def check_image_header(stream: BinaryIO, *, name: str, max_pixels: int) -> tuple[int, int]:
    """Read only the header of an upload; return its (width, height) or raise ImageError.

    Cheap enough to run while the upload request is open, so that a file that
    is not an image is rejected at once. Damage further into the file is
    found later, when the worker decodes it.
    """
    position = stream.tell()
    try:
        image = _open(stream, name)
        _check_size(image, name, max_pixels)
        return image.size
    finally:
        stream.seek(position)

"""Checks that every upload passes before it is stored."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from recognition.imaging import ImageError, check_image_header


@dataclass(frozen=True)
class UploadProblem:
    name: str
    message: str


def file_sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def check_upload(upload: UploadedFile, max_pixels: int | None = None) -> str | None:
    """Return a message for the uploader when the file cannot be a photo, else None.

    max_pixels defaults to FACEGATE_MAX_IMAGE_PIXELS.
    """
    name = upload.name or "file"
    limit = settings.FACEGATE_MAX_UPLOAD_BYTES
    if upload.size > limit:
        return (
            f"{name} is {_megabytes(upload.size)}, more than the limit of {_megabytes(limit)}. "
            "Export it at a smaller size and upload it again."
        )
    if upload.size == 0:
        return f"{name} is empty. Upload the photo file itself."

    try:
        check_image_header(upload, name=name, max_pixels=max_pixels or settings.FACEGATE_MAX_IMAGE_PIXELS)
    except ImageError as error:
        return str(error)
    return None


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size < 10e6 else f"{size / 1e6:.0f} MB"

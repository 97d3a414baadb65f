"""Image responses for files and bytes that the consent rule has already allowed.

FACEGATE_MEDIA_DELIVERY chooses who sends a stored file:

- "stream": Django reads it from storage and streams it (development).
- "x-accel": nginx, from the internal location named in the X-Accel-Redirect header.
- "x-sendfile": Apache mod_xsendfile or lighttpd, from the absolute path in the X-Sendfile header.
- "signed-url": S3, through a redirect to a presigned URL that expires after
  FACEGATE_SIGNED_URL_SECONDS.

config/settings.py rejects the modes that cannot work with the storage.
Callers check the rule first: nothing here checks access.
"""

import re
from urllib.parse import quote

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse, HttpResponseRedirect

JPEG = "image/jpeg"
# Consent can change at any time, so no cache may keep a copy.
CACHE_CONTROL = "private, no-store"
# Letters, digits, dots, hyphens and underscores: safe inside a quoted header value.
FILENAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")


def stored_image_response(file: FieldFile, *, filename: str, attachment: bool = False) -> HttpResponse:
    """Return a response that delivers the stored JPEG under the public filename.

    The storage name never reaches the client, except inside a presigned URL
    with "signed-url".
    """
    disposition = _content_disposition(filename, attachment)
    mode = settings.FACEGATE_MEDIA_DELIVERY

    if mode == "signed-url":
        response = _signed_url_redirect(file, disposition)
    elif mode == "x-accel":
        response = HttpResponse(content_type=JPEG)
        response["X-Accel-Redirect"] = settings.FACEGATE_MEDIA_INTERNAL_PREFIX + quote(file.name)
    elif mode == "x-sendfile":
        response = HttpResponse(content_type=JPEG)
        response["X-Sendfile"] = file.path
    else:
        response = FileResponse(file.open("rb"), content_type=JPEG)

    response["Content-Disposition"] = disposition
    return _private(response)


def image_response(data: bytes) -> HttpResponse:
    """Return a response with a JPEG rendered in memory, such as a selfie thumbnail."""
    return _private(HttpResponse(data, content_type=JPEG))


def _signed_url_redirect(file: FieldFile, disposition: str) -> HttpResponseRedirect:
    # S3 sends these headers with the object in place of the stored ones.
    parameters = {
        "ResponseContentType": JPEG,
        "ResponseContentDisposition": disposition,
        "ResponseCacheControl": CACHE_CONTROL,
    }
    url = file.storage.url(file.name, parameters=parameters, expire=settings.FACEGATE_SIGNED_URL_SECONDS)
    return HttpResponseRedirect(url)


def _content_disposition(filename: str, attachment: bool) -> str:
    if not FILENAME_PATTERN.fullmatch(filename):
        raise ValueError(f"Invalid public file name {filename!r}: use letters, digits, '.', '-' and '_'.")
    return f'{"attachment" if attachment else "inline"}; filename="{filename}"'


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""The personal data download: what Facegate stores about a person, as one zip file.

The zip contains the person's selfies as uploaded, and the photos where a
face is matched to them, as the consent rule lets them see those photos:
other people's blur and hide choices still apply. data.json lists their
account, consent, choices and selfie statuses. It names no other person.
"""

import json
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, User
from events.models import Membership
from events.rendering import render_photo
from events.visibility import event_access, photos_with_faces, visible_photo_queryset, visible_photos
from recognition.models import Face, Selfie

logger = logging.getLogger(__name__)

# Photos go out at the "large" size (1600 px): rendering originals of up to
# 80 megapixels takes seconds each, and the download is built during the request.
PHOTO_SIZE = "large"
# The password hash is a credential, not data about the person.
LEFT_OUT_ACCOUNT_FIELDS = {"password"}


@dataclass
class EventPhotos:
    included: list[str] = field(default_factory=list)
    over_limit: int = 0


def export_personal_data(user: User) -> IO[bytes]:
    """Write the person's data to a temporary zip file and return it, positioned at the start.

    The file is deleted when it is closed. The export is recorded in the audit log.
    """
    # The caller's response closes the file once it is sent.
    output = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            selfie_files = _write_selfies(archive, user)
            photos_by_event = _write_photos(archive, user)
            data = _personal_data(user, selfie_files, photos_by_event)
            archive.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
    except BaseException:
        output.close()
        raise

    photo_count = sum(len(photos.included) for photos in photos_by_event.values())
    audit.record(AuditAction.DATA_EXPORTED, actor=user, subject=user, selfies=len(selfie_files), photos=photo_count)
    logger.info("User %s exported their data: %d selfies, %d photos", user.id, len(selfie_files), photo_count)
    output.seek(0)
    return output


def _write_selfies(archive: zipfile.ZipFile, user: User) -> dict[str, str]:
    """Copy each selfie file as uploaded; return the zip member name by selfie id."""
    names = {}
    for selfie in Selfie.objects.filter(user=user):
        name = f"selfies/{selfie.id}{PurePath(selfie.file.name).suffix}"
        try:
            with selfie.file.open("rb") as source, archive.open(_stored_entry(name), "w") as target:
                shutil.copyfileobj(source, target)
        except FileNotFoundError:
            logger.warning("Selfie %s of user %s has no stored file; left out of the export", selfie.id, user.id)
            continue
        names[str(selfie.id)] = name
    return names


def _write_photos(archive: zipfile.ZipFile, user: User) -> dict[str, EventPhotos]:
    """Render each photo matched to the person that the consent rule lets them see; return member names by event."""
    limit = settings.FACEGATE_MAX_EXPORT_PHOTOS
    photos_by_event: dict[str, EventPhotos] = {}
    written = 0
    for membership in Membership.objects.filter(user=user).order_by("joined_at"):
        access = event_access(user, membership.event_id)
        event_photos = photos_by_event.setdefault(str(membership.event_id), EventPhotos())
        # The gallery's rule: a photo of the person that it withholds from them is
        # neither written nor counted, so the archive cannot tell that it exists.
        theirs = Face.objects.filter(photo=OuterRef("pk"), identity=user)
        matched = photos_with_faces(visible_photo_queryset(access).filter(Exists(theirs)).order_by("uploaded_at", "id"))
        for photo, rendition in visible_photos(access, matched):
            if written >= limit:
                event_photos.over_limit += 1
                continue

            name = f"photos/{photo.event_id}/{photo.id}.jpg"
            try:
                archive.writestr(_stored_entry(name), render_photo(photo, rendition, PHOTO_SIZE))
            except (ValueError, FileNotFoundError):
                logger.warning("Photo %s could not be rendered for user %s's export", photo.id, user.id)
                continue
            event_photos.included.append(name)
            written += 1
    return photos_by_event


def _stored_entry(name: str) -> zipfile.ZipInfo:
    # JPEG and HEIC data do not shrink under deflate; storing them saves the CPU time.
    entry = zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6])
    entry.compress_type = zipfile.ZIP_STORED
    return entry


def _personal_data(user: User, selfie_files: dict[str, str], photos_by_event: dict[str, EventPhotos]) -> dict:
    account = {
        field.name: getattr(user, field.attname)
        for field in User._meta.concrete_fields
        if field.name not in LEFT_OUT_ACCOUNT_FIELDS
    }
    return {
        "exported_at": timezone.now(),
        # Includes the time of consent to biometric processing and the default choice.
        "account": account,
        "events": _events(user, photos_by_event),
        "selfies": [
            {
                "id": str(selfie.id),
                "original_name": selfie.original_name,
                "status": selfie.status,
                "error": selfie.error,
                "uploaded_at": selfie.uploaded_at,
                "file": selfie_files.get(str(selfie.id)),
            }
            for selfie in Selfie.objects.filter(user=user)
        ],
    }


def _events(user: User, photos_by_event: dict[str, EventPhotos]) -> list[dict]:
    events = []
    for membership in Membership.objects.filter(user=user).select_related("event", "user").order_by("joined_at"):
        photos = photos_by_event.get(str(membership.event_id), EventPhotos())
        events.append(
            {
                "id": str(membership.event_id),
                "name": membership.event.name,
                "role": membership.role,
                "joined_at": membership.joined_at,
                "sharing": membership.sharing,
                "effective_sharing": membership.effective_sharing,
                "photos": photos.included,
                "photos_over_limit": photos.over_limit,
            }
        )
    return events

"""Changes to events, memberships and photos. Views and commands call these."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, Sharing, User
from events.models import Event, JobStatus, Membership, Photo, Role, ShareLink
from events.uploads import UploadProblem, check_upload, file_sha256
from recognition.jobs import request_reclassification
from recognition.queue import enqueue
from recognition.tasks import process_photo

logger = logging.getLogger(__name__)


@dataclass
class UploadResult:
    photos: list[Photo] = field(default_factory=list)
    problems: list[UploadProblem] = field(default_factory=list)


@transaction.atomic
def create_event(organizer: User, name: str, unknown_face_policy: str) -> Event:
    event = Event.objects.create(name=name, created_by=organizer, unknown_face_policy=unknown_face_policy)
    Membership.objects.create(event=event, user=organizer, role=Role.ORGANIZER)
    logger.info("Event %s created by user %s", event.id, organizer.id)
    return event


def join_event(user: User, invite_code: str) -> Membership | None:
    """Add the user to the event with that invite code; None when the code is unknown."""
    event = Event.objects.filter(invite_code=invite_code).first()
    if event is None:
        return None

    membership, created = Membership.objects.get_or_create(event=event, user=user)
    if created:
        logger.info("User %s joined event %s", user.id, event.id)
        # The new member's selfies join the event's classifier.
        request_reclassification([event.id])
    return membership


def set_event_sharing(membership: Membership, sharing: str | None) -> None:
    if sharing not in (None, *Sharing.values):
        raise ValueError(f"Unknown sharing choice {sharing!r}.")
    membership.sharing = sharing
    membership.save(update_fields=["sharing"])


def upload_photos(event: Event, uploader: User, files: list[UploadedFile]) -> UploadResult:
    """Store each acceptable file as a waiting photo and queue its processing."""
    result = UploadResult()
    for upload in files:
        problem = check_upload(upload)
        if problem:
            result.problems.append(UploadProblem(upload.name, problem))
            continue

        photo = _store_photo(event, uploader, upload)
        if photo is None:
            result.problems.append(
                UploadProblem(upload.name, f"{upload.name} is already in this event; it was not added again.")
            )
            continue
        result.photos.append(photo)

    logger.info(
        "Event %s: user %s uploaded %d photos, %d rejected",
        event.id,
        uploader.id,
        len(result.photos),
        len(result.problems),
    )
    return result


def retry_photo(photo: Photo) -> None:
    """Queue a failed photo again, for example after a worker was killed."""
    updated = Photo.objects.filter(id=photo.id, status=JobStatus.FAILED).update(status=JobStatus.PENDING, error="")
    if updated:
        enqueue(process_photo, str(photo.id))


def _store_photo(event: Event, uploader: User, upload: UploadedFile) -> Photo | None:
    checksum = file_sha256(upload)
    if Photo.objects.filter(event=event, checksum=checksum).exists():
        return None

    photo = Photo(event=event, uploaded_by=uploader, original_name=upload.name[:255], checksum=checksum)
    try:
        with transaction.atomic():
            photo.file.save(upload.name, upload, save=False)
            photo.save()
            enqueue(process_photo, str(photo.id))
    except IntegrityError:
        # The same file arrived twice at once; the other request stored it.
        photo.file.delete(save=False)
        return None
    return photo


@transaction.atomic
def create_share_link(event: Event, creator: User, expires_in_days: int | None) -> ShareLink:
    """Create a public link to the event's gallery, as an anonymous viewer sees it."""
    expires_at = None if expires_in_days is None else timezone.now() + timedelta(days=expires_in_days)
    link = ShareLink.objects.create(event=event, created_by=creator, expires_at=expires_at)
    audit.record(AuditAction.SHARE_LINK_CREATED, actor=creator, event=event, link=str(link.id))
    logger.info("Share link %s of event %s created by user %s", link.id, event.id, creator.id)
    return link


@transaction.atomic
def revoke_share_link(link: ShareLink, actor: User) -> None:
    """Stop a share link from working; the next request through it gets a 404."""
    updated = ShareLink.objects.filter(id=link.id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        audit.record(AuditAction.SHARE_LINK_REVOKED, actor=actor, event=link.event_id, link=str(link.id))
        logger.info("Share link %s of event %s revoked by user %s", link.id, link.event_id, actor.id)

"""Changes to events, memberships and photos. Views and commands call these."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, Sharing, User
from events.files import delete_files_on_commit
from events.models import Event, JobStatus, Membership, Photo, RenditionFile, Role, ShareLink
from events.rendering import delete_renditions
from events.uploads import UploadProblem, check_upload, file_sha256
from recognition.clusters import lock_event
from recognition.erasure import faces_of_person, remove_person_from_faces
from recognition.jobs import request_reclassification
from recognition.models import FaceCluster
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


@transaction.atomic
def set_event_sharing(membership: Membership, sharing: str | None) -> None:
    """Set the member's choice for the event; None means their default choice applies."""
    if sharing not in (None, *Sharing.values):
        raise ValueError(f"Unknown sharing choice {sharing!r}.")
    previous_sharing = membership.sharing
    if previous_sharing == sharing:
        return

    membership.sharing = sharing
    membership.save(update_fields=["sharing"])
    audit.record(
        AuditAction.SHARING_CHANGED,
        actor=membership.user_id,
        subject=membership.user_id,
        event=membership.event_id,
        scope="event",
        old=previous_sharing,
        new=sharing,
    )
    # Stored renditions of photos of the person were made for the old choice.
    person_faces = faces_of_person(membership.user_id).filter(photo__event_id=membership.event_id)
    delete_renditions(person_faces.values_list("photo_id", flat=True))


@transaction.atomic
def update_event_settings(event: Event, actor: User, name: str, unknown_face_policy: str) -> None:
    """Rename the event and set its policy for unidentified faces; a policy change is audited."""
    # Read from the row, because a ModelForm's validation already wrote the new value on the instance.
    previous_policy = (
        Event.objects.select_for_update().filter(id=event.id).values_list("unknown_face_policy", flat=True).get()
    )
    event.name = name
    event.unknown_face_policy = unknown_face_policy
    event.save(update_fields=["name", "unknown_face_policy"])
    if previous_policy == unknown_face_policy:
        return

    audit.record(AuditAction.POLICY_CHANGED, actor=actor, event=event, old=previous_policy, new=unknown_face_policy)
    # Unidentified faces may now be blurred, or no longer blurred, anywhere in the event.
    delete_renditions(event.photos.values_list("id", flat=True))
    logger.info("Event %s: policy for unidentified faces changed by user %s", event.id, actor.id)


class OrganizerCannotLeave(ValueError):
    """An organizer asked to leave their own event, which only deleting the event can do."""


@transaction.atomic
def leave_event(membership: Membership) -> None:
    """Remove an attendee from the event: their membership, and every link of theirs to its faces.

    Each face of the event they may have been in keeps their choice for the
    event as its floor, so leaving never unveils them.
    """
    if membership.is_organizer:
        raise OrganizerCannotLeave(
            f"User {membership.user_id} organizes event {membership.event_id}; delete the event instead."
        )

    face_count = remove_person_from_faces(membership.user, event_ids=[membership.event_id])
    membership.delete()
    audit.record(
        AuditAction.EVENT_LEFT,
        actor=membership.user_id,
        subject=membership.user_id,
        event=membership.event_id,
        faces_unlinked=face_count,
    )
    logger.info("User %s left event %s; %d faces unlinked", membership.user_id, membership.event_id, face_count)


@transaction.atomic
def delete_event(event: Event, actor: User) -> None:
    """Delete the event with its photos, faces, clusters, renditions, memberships and share links.

    The stored files of its photos and renditions are deleted from storage
    once the transaction commits.
    """
    lock_event(event.id)
    photo_count = delete_photos(event.photos.all())
    member_count = event.memberships.count()
    audit.record(AuditAction.EVENT_DELETED, actor=actor, event=event, photos=photo_count, members=member_count)

    # Memberships, share links and clusters go with the event (CASCADE).
    event_id = event.id
    event.delete()
    logger.info("Event %s deleted by user %s: %d photos, %d members", event_id, actor.id, photo_count, member_count)


@transaction.atomic
def delete_photos(photos) -> int:
    """Delete the photos with their faces, stored renditions and files; return how many.

    Clusters left without faces are deleted too, so that no cluster outlives
    the faces a reviewer named it after.
    """
    photos = list(photos.only("id", "event_id", "file"))
    if not photos:
        return 0

    event_ids = sorted({str(photo.event_id) for photo in photos})
    for event_id in event_ids:
        lock_event(event_id)

    photo_ids = [photo.id for photo in photos]
    renditions = RenditionFile.objects.filter(photo_id__in=photo_ids).only("id", "file")
    delete_files_on_commit([*(photo.file for photo in photos), *(rendition.file for rendition in renditions)])
    Photo.objects.filter(id__in=photo_ids).delete()
    FaceCluster.objects.filter(event_id__in=event_ids, faces__isnull=True).delete()
    return len(photos)


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

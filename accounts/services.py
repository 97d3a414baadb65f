"""Consent, sharing choices and enrollment selfies of a person."""

import logging

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, Sharing, User
from events import services as event_services
from events.files import delete_files_on_commit
from events.models import Event, JobStatus, Membership, Photo, ShareLink
from events.rendering import delete_renditions
from events.uploads import UploadProblem, check_upload, file_sha256
from recognition.erasure import faces_of_person, remove_person_from_faces
from recognition.jobs import request_reclassification
from recognition.models import Selfie
from recognition.queue import enqueue
from recognition.tasks import enroll_selfie

logger = logging.getLogger(__name__)


@transaction.atomic
def give_consent(user: User, default_sharing: str) -> None:
    if default_sharing not in Sharing.values:
        raise ValueError(f"Unknown sharing choice {default_sharing!r}.")
    previous_sharing = user.default_sharing
    newly_given = user.biometric_consent_at is None

    user.default_sharing = default_sharing
    if newly_given:
        user.biometric_consent_at = timezone.now()
    user.save(update_fields=["default_sharing", "biometric_consent_at"])

    if newly_given:
        audit.record(AuditAction.CONSENT_GIVEN, actor=user, subject=user, default_sharing=default_sharing)
        logger.info("User %s gave consent to biometric processing", user.id)
    if previous_sharing != default_sharing:
        _default_sharing_changed(user, previous_sharing, record=not newly_given)


@transaction.atomic
def set_default_sharing(user: User, default_sharing: str) -> None:
    if default_sharing not in Sharing.values:
        raise ValueError(f"Unknown sharing choice {default_sharing!r}.")
    previous_sharing = user.default_sharing
    if previous_sharing == default_sharing:
        return

    user.default_sharing = default_sharing
    user.save(update_fields=["default_sharing"])
    _default_sharing_changed(user, previous_sharing, record=True)


def _default_sharing_changed(user: User, previous_sharing: str, *, record: bool) -> None:
    if record:
        audit.record(
            AuditAction.SHARING_CHANGED,
            actor=user,
            subject=user,
            scope="default",
            old=previous_sharing,
            new=user.default_sharing,
        )
    # Stored renditions of photos of the person were made for the old choice.
    delete_renditions(faces_of_person(user.id).values_list("photo_id", flat=True))


def add_selfies(user: User, files: list[UploadedFile]) -> tuple[list[Selfie], list[UploadProblem]]:
    """Store the selfies of a consenting user and queue their enrollment."""
    if not user.has_biometric_consent:
        raise PermissionError("Selfies need consent to biometric processing first.")

    selfies, problems = [], []
    room = settings.FACEGATE_MAX_SELFIES_PER_PERSON - Selfie.objects.filter(user=user).count()
    known_checksums = set(Selfie.objects.filter(user=user).values_list("checksum", flat=True))
    for upload in files:
        checksum = file_sha256(upload)
        problem = _selfie_problem(upload, checksum in known_checksums, has_room=len(selfies) < room)
        if problem:
            problems.append(UploadProblem(upload.name, problem))
            continue

        known_checksums.add(checksum)
        selfies.append(_store_selfie(user, upload, checksum))
    return selfies, problems


def _selfie_problem(upload: UploadedFile, is_duplicate: bool, has_room: bool) -> str | None:
    problem = check_upload(upload, max_pixels=settings.FACEGATE_MAX_SELFIE_PIXELS)
    if problem:
        return problem
    if is_duplicate:
        return f"{upload.name} is already one of your selfies; it was not added again."
    if not has_room:
        return (
            f"{upload.name} was not added: you can keep at most {settings.FACEGATE_MAX_SELFIES_PER_PERSON} "
            "selfies. Delete some before adding more."
        )
    return None


@transaction.atomic
def _store_selfie(user: User, upload: UploadedFile, checksum: str) -> Selfie:
    selfie = Selfie(user=user, original_name=upload.name[:255], checksum=checksum)
    selfie.file.save(upload.name, upload, save=False)
    selfie.save()
    enqueue(enroll_selfie, str(selfie.id))
    return selfie


def usable_selfie_count(user: User) -> int:
    """Count the user's selfies that passed the checks and were enrolled."""
    return Selfie.objects.filter(user=user, status=JobStatus.DONE).count()


@transaction.atomic
def delete_selfie(selfie: Selfie) -> None:
    """Delete one selfie and re-classify the owner's events without it.

    The person's matches stay until that re-classification, which leaves
    their choice on each face that no longer matches them.
    """
    was_enrolled = selfie.status == JobStatus.DONE
    delete_files_on_commit([selfie.file])
    selfie.delete()
    audit.record(
        AuditAction.SELFIE_DELETED,
        actor=selfie.user_id,
        subject=selfie.user_id,
        selfie=str(selfie.id),
        was_enrolled=was_enrolled,
    )

    if was_enrolled:
        request_reclassification(Membership.objects.filter(user_id=selfie.user_id).values_list("event_id", flat=True))


@transaction.atomic
def withdraw_consent(user: User) -> None:
    """Delete the user's selfies, embeddings and matches at once, and re-classify their events.

    Each face they may have been in keeps the choice they had made for its
    event, so that withdrawing never unveils a face that was hidden or blurred.
    """
    selfie_count = _delete_selfies(user)

    user.biometric_consent_at = None
    user.save(update_fields=["biometric_consent_at"])

    face_count = remove_person_from_faces(user)
    audit.record(
        AuditAction.CONSENT_WITHDRAWN, actor=user, subject=user, selfies_deleted=selfie_count, faces_unlinked=face_count
    )
    logger.info("User %s withdrew consent; %d selfies deleted, %d faces unlinked", user.id, selfie_count, face_count)


@transaction.atomic
def delete_account(user: User, actor: User | None = None) -> None:
    """Delete the person's account and their data; actor is the admin who does it, if not the person.

    Deleted with them: the events they created, with every photo, face and
    file in them, and the photos they uploaded to other events. Their share
    links, selfies (files and embeddings) and memberships go too. Every other face they may
    have been in is unlinked from them and keeps their choice as its floor.
    The audit log keeps the entry of the deletion, which contains ids only.
    """
    actor = actor or user
    created_events = list(Event.objects.filter(created_by=user))
    event_ids = [str(event.id) for event in created_events]
    audit.record(AuditAction.ACCOUNT_DELETED, actor=actor, subject=user, events_deleted=event_ids)

    for event in created_events:
        event_services.delete_event(event, actor=actor)
    # Only organizers upload, so these are photos of events another person
    # created, where an admin made this person an organizer too.
    event_services.delete_photos(Photo.objects.filter(uploaded_by=user))
    ShareLink.objects.filter(created_by=user).delete()

    face_count = remove_person_from_faces(user)
    selfie_count = _delete_selfies(user)
    Membership.objects.filter(user=user).delete()

    user_id = user.id
    user.delete()
    logger.info(
        "User %s deleted: %d events, %d selfies, %d faces unlinked",
        user_id,
        len(created_events),
        selfie_count,
        face_count,
    )


def _delete_selfies(user: User) -> int:
    selfies = list(Selfie.objects.filter(user=user).only("id", "file"))
    delete_files_on_commit(selfie.file for selfie in selfies)
    Selfie.objects.filter(id__in=[selfie.id for selfie in selfies]).delete()
    return len(selfies)

"""Consent, sharing choices and enrollment selfies of a person."""

import logging

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Sharing, User
from events.models import JobStatus, Membership
from events.uploads import UploadProblem, check_upload, file_sha256
from recognition.jobs import request_reclassification
from recognition.models import Selfie
from recognition.queue import enqueue
from recognition.tasks import enroll_selfie

logger = logging.getLogger(__name__)


def give_consent(user: User, default_sharing: str) -> None:
    if default_sharing not in Sharing.values:
        raise ValueError(f"Unknown sharing choice {default_sharing!r}.")
    user.default_sharing = default_sharing
    if user.biometric_consent_at is None:
        user.biometric_consent_at = timezone.now()
    user.save(update_fields=["default_sharing", "biometric_consent_at"])
    logger.info("User %s gave consent to biometric processing", user.id)


def set_default_sharing(user: User, default_sharing: str) -> None:
    if default_sharing not in Sharing.values:
        raise ValueError(f"Unknown sharing choice {default_sharing!r}.")
    user.default_sharing = default_sharing
    user.save(update_fields=["default_sharing"])


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


def delete_selfie(selfie: Selfie) -> None:
    """Delete one selfie and re-classify the owner's events without it."""
    was_enrolled = selfie.status == JobStatus.DONE
    selfie.file.delete(save=False)
    selfie.delete()

    if was_enrolled:
        request_reclassification(Membership.objects.filter(user_id=selfie.user_id).values_list("event_id", flat=True))


@transaction.atomic
def withdraw_consent(user: User) -> None:
    """Delete the user's selfies and embeddings, and re-classify their events to delete their matches.

    The re-classification unlinks their faces and leaves the choice they had
    made on each face, so that withdrawing never unveils a face that was
    hidden or blurred.
    """
    for selfie in Selfie.objects.filter(user=user):
        selfie.file.delete(save=False)
        selfie.delete()

    user.biometric_consent_at = None
    user.save(update_fields=["biometric_consent_at"])

    request_reclassification(Membership.objects.filter(user=user).values_list("event_id", flat=True))
    logger.info("User %s withdrew consent; selfies and matches deleted", user.id)

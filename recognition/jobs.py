"""Recovery of jobs that a stopped process or a dead worker left unfinished."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from events.models import JobStatus, Photo
from recognition import queue
from recognition.models import Selfie
from recognition.tasks import enroll_selfie, process_photo

logger = logging.getLogger(__name__)


def resume_unfinished_jobs() -> tuple[int, int]:
    """Queue every waiting or stale row again; return (photos, selfies) queued.

    Safe to run at any time: a job claims its row before working on it, so a
    row queued twice is processed once.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.FACEGATE_STALE_JOB_SECONDS)
    unfinished = Q(status=JobStatus.PENDING) | Q(status=JobStatus.PROCESSING, status_changed_at__lt=stale_before)

    photo_ids = list(Photo.objects.filter(unfinished).values_list("id", flat=True))
    for photo_id in photo_ids:
        queue.send(process_photo, str(photo_id))

    selfie_ids = list(Selfie.objects.filter(unfinished).values_list("id", flat=True))
    for selfie_id in selfie_ids:
        queue.send(enroll_selfie, str(selfie_id))

    if photo_ids or selfie_ids:
        logger.info("Resumed %d photos and %d selfies", len(photo_ids), len(selfie_ids))
    return len(photo_ids), len(selfie_ids)


def reset_orphaned_jobs() -> int:
    """Mark every "processing" row waiting again; return how many.

    Only for the embedded runner at start-up, when no other process can be
    working on a row, so every "processing" row was left by a stopped process.
    """
    photos = Photo.objects.filter(status=JobStatus.PROCESSING).update(status=JobStatus.PENDING)
    selfies = Selfie.objects.filter(status=JobStatus.PROCESSING).update(status=JobStatus.PENDING)
    return photos + selfies

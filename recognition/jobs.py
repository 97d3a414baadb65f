"""Recovery of jobs that a stopped process or a dead worker left unfinished."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from events.models import Event, JobStatus, Photo
from recognition import queue
from recognition.models import Selfie
from recognition.tasks import enroll_selfie, process_photo, reclassify_event

logger = logging.getLogger(__name__)


def request_reclassification(event_ids) -> None:
    """Mark the events as needing re-classification and queue the jobs.

    The mark is stored with the change that caused it, so a job lost with its
    process is found again by resume_unfinished_jobs. Until the job clears it,
    the consent rule holds back every photo with an unidentified face.
    """
    event_ids = [str(event_id) for event_id in event_ids]
    Event.objects.filter(id__in=event_ids).update(reclassification_requested_at=timezone.now())
    for event_id in event_ids:
        queue.enqueue(reclassify_event, event_id)


def resume_unfinished_jobs() -> tuple[int, int, int]:
    """Queue every waiting or stale job again; return (photos, selfies, events) queued.

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

    event_ids = list(Event.objects.filter(reclassification_requested_at__isnull=False).values_list("id", flat=True))
    for event_id in event_ids:
        queue.send(reclassify_event, str(event_id))

    if photo_ids or selfie_ids or event_ids:
        logger.info(
            "Resumed %d photos, %d selfies and %d event re-classifications",
            len(photo_ids),
            len(selfie_ids),
            len(event_ids),
        )
    return len(photo_ids), len(selfie_ids), len(event_ids)


def reset_orphaned_jobs() -> int:
    """Mark every "processing" row waiting again; return how many.

    Only for the embedded runner at start-up, when no other process can be
    working on a row, so every "processing" row was left by a stopped process.
    """
    photos = Photo.objects.filter(status=JobStatus.PROCESSING).update(status=JobStatus.PENDING)
    selfies = Selfie.objects.filter(status=JobStatus.PROCESSING).update(status=JobStatus.PENDING)
    return photos + selfies

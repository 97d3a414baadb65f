"""Celery tasks: thin wrappers that pass ids to recognition.services."""

from celery import shared_task
from django.conf import settings

from recognition import services

# A job that finds its row busy was redelivered after its worker died, or sent
# twice. It waits until the row goes stale and tries again; this many times.
BUSY_RETRIES = 3


@shared_task(name="recognition.process_photo", bind=True, max_retries=BUSY_RETRIES)
def process_photo(self, photo_id: str) -> None:
    if services.process_photo(photo_id) == services.Claim.BUSY and not self.request.called_directly:
        raise self.retry(countdown=settings.FACEGATE_STALE_JOB_SECONDS)


@shared_task(name="recognition.enroll_selfie", bind=True, max_retries=BUSY_RETRIES)
def enroll_selfie(self, selfie_id: str) -> None:
    if services.enroll_selfie(selfie_id) == services.Claim.BUSY and not self.request.called_directly:
        raise self.retry(countdown=settings.FACEGATE_STALE_JOB_SECONDS)


@shared_task(name="recognition.reclassify_event")
def reclassify_event(event_id: str) -> None:
    services.reclassify_event(event_id)

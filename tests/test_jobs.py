"""Background jobs: idempotent retries, recovery after a killed worker, and enqueueing."""

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from accounts import services as account_services
from accounts.models import Sharing
from events import services as event_services
from events.models import JobStatus, Photo
from recognition import services
from recognition.jobs import reset_orphaned_jobs, resume_unfinished_jobs
from recognition.models import Face, Selfie

# Bound before the jobs fixture replaces recognition.queue.send with a recorder.
from recognition.queue import send as send_job
from recognition.tasks import process_photo
from tests.conftest import upload_of


@pytest.fixture
def uploaded_photo(event, organizer, jobs) -> Photo:
    result = event_services.upload_photos(event, organizer, [upload_of("group/fr_two_people.jpg")])
    jobs.sent.clear()
    return result.photos[0]


def _face_ids(photo: Photo) -> set:
    return set(Face.objects.filter(photo=photo).values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_upload_enqueues_processing(uploaded_photo, event, organizer, jobs):
    event_services.upload_photos(event, organizer, [upload_of("group/df_couple.jpg")])

    assert jobs.sent[-1][0] == "recognition.process_photo"
    assert Photo.objects.get(id=jobs.sent[-1][1][0]).original_name == "df_couple.jpg"


@pytest.mark.django_db(transaction=True)
def test_retry_of_finished_job_changes_nothing(uploaded_photo):
    assert services.process_photo(str(uploaded_photo.id)) == services.Claim.CLAIMED
    first_faces = _face_ids(uploaded_photo)

    assert services.process_photo(str(uploaded_photo.id)) == services.Claim.SETTLED

    assert len(first_faces) == 2
    assert _face_ids(uploaded_photo) == first_faces


@pytest.mark.django_db(transaction=True)
def test_unexpected_error_marks_photo_failed(uploaded_photo, monkeypatch):
    def broken_pipeline():
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(services, "pipeline", broken_pipeline)

    outcome = services.process_photo(str(uploaded_photo.id))

    uploaded_photo.refresh_from_db()
    assert outcome == services.Claim.CLAIMED
    assert uploaded_photo.status == JobStatus.FAILED
    assert "Processing fr_two_people.jpg failed unexpectedly" in uploaded_photo.error


@pytest.mark.django_db(transaction=True)
def test_running_job_not_claimed_twice(uploaded_photo):
    Photo.objects.filter(id=uploaded_photo.id).update(status=JobStatus.PROCESSING, status_changed_at=timezone.now())

    assert services.process_photo(str(uploaded_photo.id)) == services.Claim.BUSY
    assert _face_ids(uploaded_photo) == set()


@pytest.mark.django_db(transaction=True)
def test_killed_worker_job_resumed_without_duplicates(uploaded_photo, jobs):
    # A worker processed the photo, then died before marking it done.
    services.process_photo(str(uploaded_photo.id))
    stale = timezone.now() - timedelta(seconds=settings.FACEGATE_STALE_JOB_SECONDS + 1)
    Photo.objects.filter(id=uploaded_photo.id).update(status=JobStatus.PROCESSING, status_changed_at=stale)

    photos, selfies, events = resume_unfinished_jobs()
    jobs.run_all()

    uploaded_photo.refresh_from_db()
    assert (photos, selfies, events) == (1, 0, 0)
    assert uploaded_photo.status == JobStatus.DONE
    assert uploaded_photo.attempts == 2
    assert Face.objects.filter(photo=uploaded_photo).count() == 2


@pytest.mark.django_db(transaction=True)
def test_orphaned_jobs_reset_at_start(uploaded_photo, jobs):
    Photo.objects.filter(id=uploaded_photo.id).update(status=JobStatus.PROCESSING, status_changed_at=timezone.now())

    assert reset_orphaned_jobs() == 1
    resume_unfinished_jobs()
    jobs.run_all()

    uploaded_photo.refresh_from_db()
    assert uploaded_photo.status == JobStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_failed_photo_retried_by_uploader(uploaded_photo, organizer, client, jobs):
    Photo.objects.filter(id=uploaded_photo.id).update(status=JobStatus.FAILED, error="Worker lost")
    client.force_login(organizer)

    response = client.post(reverse("events:retry", args=[uploaded_photo.id]))
    jobs.run_all()

    uploaded_photo.refresh_from_db()
    assert response.status_code == HTTPStatus.FOUND
    assert uploaded_photo.status == JobStatus.DONE
    assert uploaded_photo.error == ""


@pytest.mark.django_db(transaction=True)
def test_retry_hidden_from_attendee(uploaded_photo, attendee, client):
    Photo.objects.filter(id=uploaded_photo.id).update(status=JobStatus.FAILED)
    client.force_login(attendee)

    response = client.post(reverse("events:retry", args=[uploaded_photo.id]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Photo.objects.get(id=uploaded_photo.id).status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_enrollment_reclassifies_existing_photos(uploaded_photo, attendee, jobs):
    services.process_photo(str(uploaded_photo.id))
    assert not Face.objects.filter(photo=uploaded_photo, identity=attendee).exists()

    account_services.give_consent(attendee, Sharing.SHARE)
    account_services.add_selfies(attendee, [upload_of("identities/barack_obama/fr_obama.jpg")])
    jobs.run_all()

    assert Face.objects.filter(photo=uploaded_photo, identity=attendee).count() == 1


@pytest.mark.django_db(transaction=True)
def test_withdrawn_consent_deletes_matches(uploaded_photo, attendee, jobs):
    account_services.give_consent(attendee, Sharing.SHARE)
    account_services.add_selfies(attendee, [upload_of("identities/barack_obama/fr_obama.jpg")])
    jobs.run_all()
    services.process_photo(str(uploaded_photo.id))
    assert Face.objects.filter(identity=attendee).count() == 1

    account_services.withdraw_consent(attendee)
    jobs.run_all()

    attendee.refresh_from_db()
    assert attendee.biometric_consent_at is None
    assert Selfie.objects.filter(user=attendee).count() == 0
    assert Face.objects.filter(identity=attendee).count() == 0
    assert Face.objects.filter(candidate=attendee).count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("relative_path", "expected_error"),
    [
        ("noface/mtcnn_no-faces.jpg", "No face was found in mtcnn_no-faces.jpg"),
        ("noface/pil_flower2.jpg", "The face in pil_flower2.jpg is cut off by the edge of the photo"),
        ("group/fr_two_people.jpg", "fr_two_people.jpg shows 2 faces of similar size"),
    ],
)
def test_selfie_needs_one_clear_face(attendee, jobs, relative_path, expected_error):
    account_services.give_consent(attendee, Sharing.SHARE)
    selfies, _ = account_services.add_selfies(attendee, [upload_of(relative_path)])
    jobs.run_all()

    selfies[0].refresh_from_db()
    assert selfies[0].status == JobStatus.FAILED
    assert expected_error in selfies[0].error


@pytest.mark.django_db(transaction=True)
def test_selfie_bystander_ignored(attendee, jobs):
    # This portrait has a much smaller second face in the background.
    account_services.give_consent(attendee, Sharing.SHARE)
    selfies, _ = account_services.add_selfies(attendee, [upload_of("identities/barack_obama/fr_obama.jpg")])
    jobs.run_all()

    selfies[0].refresh_from_db()
    assert selfies[0].status == JobStatus.DONE
    assert selfies[0].embedding.shape == (512,)


@pytest.mark.django_db
def test_selfies_need_consent(attendee):
    with pytest.raises(PermissionError):
        account_services.add_selfies(attendee, [upload_of("identities/barack_obama/fr_obama.jpg")])


@pytest.mark.django_db(transaction=True)
def test_broker_receives_job_in_redis(uploaded_photo, settings):
    settings.CELERY_BROKER_URL = settings.FACEGATE_TEST_REDIS_URL
    client = redis.Redis.from_url(settings.FACEGATE_TEST_REDIS_URL)
    client.delete("celery")
    process_photo.app.conf.broker_url = settings.FACEGATE_TEST_REDIS_URL

    try:
        send_job(process_photo, str(uploaded_photo.id))
        with Connection(settings.FACEGATE_TEST_REDIS_URL) as connection:
            message = connection.SimpleQueue("celery").get(timeout=5)
            headers, body = message.headers, message.decode()
            message.ack()
    finally:
        process_photo.app.conf.broker_url = None
        client.delete("celery")

    assert headers["task"] == "recognition.process_photo"
    assert body[0] == [str(uploaded_photo.id)]


@pytest.mark.django_db(transaction=True)
def test_resume_command_reports_counts(uploaded_photo, jobs, capsys):
    call_command("resume_jobs")

    assert "Queued 1 photos, 0 selfies and 0 event re-classifications." in capsys.readouterr().out
    assert jobs.names() == ["recognition.process_photo"]


@pytest.mark.django_db(transaction=True)
def test_celery_worker_processes_photo(event, organizer, settings, monkeypatch):
    # A real Celery worker, in a thread of this process, takes the job from Redis.
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    def no_embedded_runner():
        raise AssertionError("the job went to the embedded runner instead of the broker")

    monkeypatch.setattr("recognition.queue._embedded_executor", no_embedded_runner)
    settings.CELERY_BROKER_URL = settings.FACEGATE_TEST_REDIS_URL
    redis.Redis.from_url(settings.FACEGATE_TEST_REDIS_URL).delete("celery")
    app.conf.update(broker_url=settings.FACEGATE_TEST_REDIS_URL, result_backend="cache+memory://")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            photo = event_services.upload_photos(event, organizer, [upload_of("group/fr_two_people.jpg")]).photos[0]
            for _ in range(120):
                photo.refresh_from_db()
                if photo.status == JobStatus.DONE:
                    break
                time.sleep(0.25)
    finally:
        app.conf.update(broker_url=None, result_backend=None)

    assert photo.status == JobStatus.DONE
    assert Face.objects.filter(photo=photo).count() == 2


@pytest.mark.django_db(transaction=True)
def test_worker_that_lost_its_claim_writes_nothing(uploaded_photo, jobs):
    # Worker 1 claims the photo, then stalls; worker 2 claims it again once
    # stale and finishes it. Worker 1's late result must not replace the faces.
    assert services.claim(Photo, str(uploaded_photo.id)) == services.Claim.CLAIMED
    stalled = Photo.objects.select_related("event").get(id=uploaded_photo.id)
    image = services._read_image(stalled.file, stalled.original_name)
    analyzed = services.pipeline().analyze(image)

    old = timezone.now() - timedelta(seconds=settings.FACEGATE_STALE_JOB_SECONDS + 1)
    Photo.objects.filter(id=uploaded_photo.id).update(status_changed_at=old)
    services.process_photo(str(uploaded_photo.id))
    finished_faces = _face_ids(uploaded_photo)

    services._save_faces(stalled, image, analyzed)

    assert len(finished_faces) == 2
    assert _face_ids(uploaded_photo) == finished_faces
    assert Photo.objects.get(id=uploaded_photo.id).attempts == 2

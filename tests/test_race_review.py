"""Races and odd data that a second attack review found.

A stale worker's late failure followed by a retry, and a re-classification
racing an erasure, used to drop a hidden person's floor. A rendition deleted
while served gave a 500. Odd JSON in a face's people lists made the query and
the rule disagree.
"""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Sharing
from events import rendering
from events import services as event_services
from events.models import JobStatus, Photo
from events.visibility import event_access, photo_rendition, visible_photo_queryset
from recognition import clusters, services
from recognition.jobs import request_reclassification
from recognition.models import Face
from tests.conftest import enrolled_pair, make_face_row, make_user, upload_of


def _upload(event, organizer, path: str) -> Photo:
    return event_services.upload_photos(event, organizer, [upload_of(path)]).photos[0]


@pytest.mark.django_db(transaction=True)
def test_stale_failure_keeps_done_photo(jobs, client):
    event, organizer, hider, sharer = enrolled_pair(jobs)
    photo = _upload(event, organizer, "identities/barack_obama/fr_obama1.jpg")
    jobs.sent.clear()

    # Worker 1 claims the photo and stalls (a storage read that hangs, say).
    assert services.claim(Photo, str(photo.id)) == services.Claim.CLAIMED
    stalled = Photo.objects.get(id=photo.id)
    old = timezone.now() - timedelta(seconds=settings.FACEGATE_STALE_JOB_SECONDS + 1)
    Photo.objects.filter(id=photo.id).update(status_changed_at=old)
    # Worker 2 takes the stale job and finishes it: Hilda is matched.
    services.process_photo(str(photo.id))
    assert Face.objects.get(photo=photo).identity_id == hider.id

    # Hilda withdraws consent: the face keeps "hide" as its floor.
    account_services.withdraw_consent(hider)
    jobs.run_all()
    assert Face.objects.get(photo=photo).sharing_floor == Sharing.HIDE

    # Worker 1 wakes up and fails: its error overwrites the finished photo.
    def stalled_read():
        raise OSError("storage read timed out")

    services._attempt(stalled, stalled_read)
    assert Photo.objects.get(id=photo.id).status == JobStatus.DONE, "a stale worker's failure overwrote DONE"


@pytest.mark.django_db(transaction=True)
def test_retry_keeps_erasure_floor(jobs, client):
    event, organizer, hider, sharer = enrolled_pair(jobs)
    photo = _upload(event, organizer, "identities/barack_obama/fr_obama1.jpg")
    jobs.run_all()
    account_services.withdraw_consent(hider)
    jobs.run_all()
    assert Face.objects.get(photo=photo).sharing_floor == Sharing.HIDE

    # The state a stale worker's late failure leaves (see the test above).
    Photo.objects.filter(id=photo.id).update(status=JobStatus.FAILED, error="timed out")
    client.force_login(organizer)
    client.post(reverse("events:retry", args=[photo.id]))
    jobs.run_all()

    photo.refresh_from_db()
    access = event_access(sharer, event.id)
    is_shown = visible_photo_queryset(access).filter(id=photo.id).exists()
    assert photo.status == JobStatus.DONE
    assert not is_shown, "Arthur sees the photo Hilda hid"
    assert photo_rendition(access, photo) is None
    assert Face.objects.get(photo=photo).sharing_floor == Sharing.HIDE


@pytest.mark.django_db(transaction=True)
def test_reclassification_racing_erasure_keeps_floor(jobs, monkeypatch):
    # Arthur enrolls no selfie here, so that his face stays unknown.
    organizer = make_user("olivia")
    hider = make_user("hilda")
    sharer = make_user("arthur")
    event = event_services.create_event(organizer, "Spring gala", "show")
    for person, choice in ((hider, Sharing.HIDE), (sharer, Sharing.SHARE)):
        event_services.join_event(person, event.invite_code)
        account_services.give_consent(person, choice)
    account_services.add_selfies(hider, [upload_of("identities/barack_obama/fr_obama.jpg")])
    jobs.run_all()
    photo = _upload(event, organizer, "identities/joe_biden/fr_biden2.jpg")
    jobs.run_all()
    face = Face.objects.get(photo=photo)
    assert face.status == "unknown"
    # A reviewer links the face's cluster to Hilda, who hides.
    clusters.name_cluster(face.cluster, "", hider, reviewer=organizer)
    access = event_access(sharer, event.id)
    assert not visible_photo_queryset(access).filter(id=photo.id).exists()

    # A re-classification is running when Hilda withdraws consent, in another
    # process: here a thread with its own database connection.
    real_classifier = services.event_classifier
    erasure = threading.Thread(target=_withdraw_in_own_connection, args=[hider])

    class ErasureDuringClassify:
        def __init__(self, classifier):
            self._classifier = classifier

        def __getattr__(self, name):
            return getattr(self._classifier, name)

        def classify(self, *args, **kwargs):
            erasure.start()
            # Give the erasure time to reach the event's lock, which this job holds.
            erasure.join(timeout=1)
            return self._classifier.classify(*args, **kwargs)

    monkeypatch.setattr(services, "event_classifier", lambda event: ErasureDuringClassify(real_classifier(event)))
    request_reclassification([event.id])
    services.reclassify_event(str(event.id))
    erasure.join(timeout=30)
    monkeypatch.setattr(services, "event_classifier", real_classifier)
    jobs.run_all()

    assert not erasure.is_alive()

    face.refresh_from_db()
    photo.refresh_from_db()
    access = event_access(sharer, event.id)
    assert not visible_photo_queryset(access).filter(id=photo.id).exists(), "Arthur sees the face linked to Hilda"
    assert photo_rendition(access, photo) is None
    assert face.sharing_floor == Sharing.HIDE


@pytest.mark.django_db(transaction=True)
def test_rendition_deleted_while_served(two_people_event, client, monkeypatch):
    client.force_login(two_people_event.sharer)
    url = reverse("events:photo_image", args=[two_people_event.sharer_photo.id, "thumb"])
    assert client.get(url).status_code == 200

    # A choice change deletes the stored rendition (and, on commit, its file)
    # just after this request found it.
    real_find = rendering._find_rendition

    def find_then_choice_changes(photo, size, key):
        found = real_find(photo, size, key)
        rendering.delete_renditions([photo.id])
        return found

    monkeypatch.setattr(rendering, "_find_rendition", find_then_choice_changes)
    client.raise_request_exception = False
    response = client.get(url)

    # The view renders the copy again rather than fail.
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")


@pytest.mark.django_db(transaction=True)
def test_query_and_rule_agree_on_scalar_json(two_people_event):
    # No code writes a bare string here today. PostgreSQL's <@ counts the
    # string "x" as contained in ["x", ...], so the query must check for a list.
    people = two_people_event
    photo = _done_photo(people, "1" * 64)
    make_face_row(photo, 0, status="unknown", plausible_identities=str(people.sharer.id))
    access = event_access(people.sharer, people.event.id)

    in_query = visible_photo_queryset(access).filter(id=photo.id).exists()
    by_rule = photo_rendition(access, Photo.objects.get(id=photo.id)) is not None

    assert not by_rule
    assert not in_query


@pytest.mark.django_db(transaction=True)
def test_rule_survives_number_in_json(two_people_event):
    people = two_people_event
    photo = _done_photo(people, "2" * 64)
    make_face_row(photo, 0, status="unknown", linked_identities=5)
    access = event_access(people.sharer, people.event.id)

    assert photo_rendition(access, Photo.objects.get(id=photo.id)) is None


def _done_photo(people, checksum: str) -> Photo:
    return Photo.objects.create(
        event=people.event,
        uploaded_by=people.organizer,
        file=f"photos/{checksum[:8]}.jpg",
        original_name="odd.jpg",
        checksum=checksum,
        status=JobStatus.DONE,
    )


def _withdraw_in_own_connection(user) -> None:
    try:
        account_services.withdraw_consent(user)
    finally:
        connection.close()

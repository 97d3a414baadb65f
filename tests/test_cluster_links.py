"""A reviewer's link between a cluster and a person, through matches, re-links and new photos.

Photos of george_clooney go to a "show" event, and a reviewer links his
cluster to a member who never enrolls. In each sequence that member then
chooses "hide", and the other members must no longer see the photos.
"""

from dataclasses import dataclass

import pytest

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, JobStatus, Photo
from events.visibility import event_access, photo_rendition
from recognition import clusters, services
from recognition.clusters import name_cluster
from recognition.models import Face, FaceCluster
from recognition.schemas import Decision
from tests.conftest import JobRecorder, make_user, upload_of

LINKED_PHOTO = "identities/george_clooney/df_img40.jpg"
LATER_PHOTO = "identities/george_clooney/df_img41.jpg"
IMPOSTOR_SELFIES = ["identities/george_clooney/df_img38.jpg", "identities/george_clooney/df_img39.jpg"]


@dataclass
class Gala:
    event: Event
    organizer: User
    viewer: User
    person: User
    """The member, who never enrolls, that the reviewer linked george_clooney's cluster to."""
    photo: Photo
    cluster: FaceCluster


@pytest.fixture
def gala(jobs: JobRecorder) -> Gala:
    organizer = make_user("link-organizer")
    event = event_services.create_event(organizer, "Gala", "show")
    viewer = make_user("link-viewer", Sharing.SHARE)
    event_services.join_event(viewer, event.invite_code)
    person = make_user("link-person", Sharing.SHARE)
    event_services.join_event(person, event.invite_code)

    result = event_services.upload_photos(event, organizer, [upload_of(LINKED_PHOTO)])
    jobs.run_all()
    photo = result.photos[0]
    cluster = FaceCluster.objects.get(id=_main_face(photo).cluster_id)
    name_cluster(cluster, "George", person=person)
    return Gala(event, organizer, viewer, person, photo, cluster)


def _main_face(photo: Photo) -> Face:
    return Face.objects.filter(photo=photo).order_by("-box_width").first()


def _visible(viewer: User, photo: Photo) -> bool:
    photo.refresh_from_db()
    return photo_rendition(event_access(viewer, photo.event_id), photo) is not None


def _reclassify_by_joining(event: Event, username: str, jobs: JobRecorder) -> None:
    event_services.join_event(make_user(username), event.invite_code)
    jobs.run_all()


@pytest.mark.django_db(transaction=True)
def test_link_survives_impostor_match(gala, jobs):
    impostor = make_user("link-impostor", Sharing.SHARE)
    account_services.give_consent(impostor, Sharing.SHARE)
    event_services.join_event(impostor, gala.event.invite_code)
    _, problems = account_services.add_selfies(impostor, [upload_of(path) for path in IMPOSTOR_SELFIES])
    jobs.run_all()
    _reclassify_by_joining(gala.event, "link-late", jobs)
    face = _main_face(gala.photo)
    visible_while_sharing = _visible(gala.viewer, gala.photo)

    account_services.set_default_sharing(gala.person, Sharing.HIDE)

    assert problems == []
    assert face.status == Decision.MATCHED
    assert face.identity_id == impostor.id
    assert face.cluster_id is None
    assert not FaceCluster.objects.filter(id=gala.cluster.id).exists()
    assert face.linked_identities == [str(gala.person.id)]
    assert face.sharing_floor == ""
    assert visible_while_sharing is True
    assert _visible(gala.viewer, gala.photo) is False


@pytest.mark.django_db(transaction=True)
def test_relink_keeps_first_person(gala, jobs):
    other = make_user("link-other", Sharing.SHARE)
    event_services.join_event(other, gala.event.invite_code)
    jobs.run_all()

    name_cluster(FaceCluster.objects.get(id=gala.cluster.id), "George", person=other)
    _reclassify_by_joining(gala.event, "link-late", jobs)
    account_services.set_default_sharing(gala.person, Sharing.HIDE)

    face = _main_face(gala.photo)
    assert FaceCluster.objects.get(id=gala.cluster.id).person_id == other.id
    assert face.linked_identities == [str(gala.person.id), str(other.id)]
    assert _visible(gala.viewer, gala.photo) is False
    assert _visible(gala.person, gala.photo) is True


@pytest.mark.django_db(transaction=True)
def test_new_photo_done_with_link(gala, jobs, monkeypatch):
    account_services.set_default_sharing(gala.person, Sharing.HIDE)
    visible_when_done = []
    finish = services._finish

    def finish_and_look(row, status, error, extra_fields=None):
        finish(row, status, error, extra_fields)
        if isinstance(row, Photo) and status == JobStatus.DONE:
            visible_when_done.append(_visible(gala.viewer, row))

    monkeypatch.setattr(services, "_finish", finish_and_look)
    result = event_services.upload_photos(gala.event, gala.organizer, [upload_of(LATER_PHOTO)])
    jobs.run_all()

    face = _main_face(result.photos[0])
    assert face.cluster_id == gala.cluster.id
    assert face.linked_identities == [str(gala.person.id)]
    assert visible_when_done == [False]
    assert _visible(gala.viewer, result.photos[0]) is False


@pytest.mark.django_db(transaction=True)
def test_cluster_failure_fails_photo(gala, jobs, monkeypatch):
    def fail(photo):
        raise RuntimeError("cluster assignment failed")

    monkeypatch.setattr(clusters, "assign_faces_to_clusters", fail)
    result = event_services.upload_photos(gala.event, gala.organizer, [upload_of(LATER_PHOTO)])
    jobs.run_all()

    photo = result.photos[0]
    photo.refresh_from_db()
    assert photo.status == JobStatus.FAILED
    assert Face.objects.filter(photo=photo).count() == 0
    assert _visible(gala.viewer, photo) is False


@pytest.mark.django_db(transaction=True)
def test_link_kept_after_split_and_rebuild(gala, jobs):
    result = event_services.upload_photos(gala.event, gala.organizer, [upload_of(LATER_PHOTO)])
    jobs.run_all()
    later_face = _main_face(result.photos[0])

    split_off = clusters.split_cluster(FaceCluster.objects.get(id=gala.cluster.id), [later_face.id])
    _reclassify_by_joining(gala.event, "link-late", jobs)
    account_services.set_default_sharing(gala.person, Sharing.HIDE)

    later_face.refresh_from_db()
    assert later_face.cluster_id == split_off.id
    assert later_face.linked_identities == [str(gala.person.id)]
    assert _visible(gala.viewer, result.photos[0]) is False

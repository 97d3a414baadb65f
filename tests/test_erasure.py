"""Erasure (withdrawing consent, deleting an account, leaving or deleting an event), data download, audit log.

The party event shows unidentified faces, the most permissive policy, so that
only the faces' floors keep an erased person covered. Barack Obama's attendee
hides and George Clooney's attendee blurs. A third photo shows Obama tilted
by 45 degrees: the face is uncertain, with him as its candidate, and a
reviewer linked its cluster to him. Every photo has a stored rendition.
"""

import io
import json
import os
import zipfile
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from accounts.export import PHOTO_SIZE, export_personal_data
from accounts.models import AuditAction, AuditEntry, Sharing, User
from events import services as event_services
from events.models import Event, JobStatus, Membership, Photo, RenditionFile, ShareLink
from events.rendering import render_photo
from events.visibility import Rendition, event_access, photo_rendition, photos_with_faces
from recognition.clusters import merge_clusters, name_cluster, split_cluster
from recognition.models import Face, FaceCluster, Selfie
from recognition.schemas import Decision
from tests.conftest import JobRecorder, faces_dir, make_face_row, make_user, upload_of

HIDER_SELFIES = ["identities/barack_obama/fr_obama.jpg"]
HIDER_PHOTO = "identities/barack_obama/fr_obama1.jpg"
BLURRER_SELFIES = ["identities/george_clooney/df_img38.jpg", "identities/george_clooney/df_img39.jpg"]
BLURRER_PHOTO = "identities/george_clooney/df_img41.jpg"


@dataclass
class Party:
    event: Event
    organizer: User
    attendee: User
    hider: User
    blurrer: User
    hider_photo: Photo
    tilted_photo: Photo
    """Obama tilted by 45 degrees: an uncertain face, linked to the hider by a reviewer."""
    blurrer_photo: Photo


def _enroll(username: str, sharing: str, selfies: list[str], event: Event) -> User:
    user = make_user(username)
    user.email = f"{username}@example.org"
    user.save(update_fields=["email"])
    account_services.give_consent(user, sharing)
    event_services.join_event(user, event.invite_code)
    account_services.add_selfies(user, [upload_of(path) for path in selfies])
    return user


def _upload(event: Event, organizer: User, jobs: JobRecorder, upload) -> Photo:
    photo = event_services.upload_photos(event, organizer, [upload]).photos[0]
    jobs.run_all()
    photo.refresh_from_db()
    assert photo.status == JobStatus.DONE
    return photo


def _tilted(relative_path: str) -> SimpleUploadedFile:
    tilted = Image.open(faces_dir() / relative_path).rotate(45, expand=True, fillcolor="white")
    output = io.BytesIO()
    tilted.save(output, format="JPEG")
    return SimpleUploadedFile("tilted.jpg", output.getvalue())


def _store_rendition(photo: Photo) -> RenditionFile:
    """Store an unblurred thumbnail, as the rendition cache does for a viewer who may see every face."""
    rendition = RenditionFile(photo=photo, size="thumb", blur_key="0" * 64)
    rendition.file.save("thumb.jpg", ContentFile(render_photo(photo, Rendition(), "thumb")))
    return rendition


@pytest.fixture
def party(event, organizer, attendee, jobs) -> Party:
    event.unknown_face_policy = "show"
    event.save(update_fields=["unknown_face_policy"])
    hider = _enroll("hidden-barack", Sharing.HIDE, HIDER_SELFIES, event)
    blurrer = _enroll("blurred-george", Sharing.BLUR, BLURRER_SELFIES, event)
    jobs.run_all()

    hider_photo = _upload(event, organizer, jobs, upload_of(HIDER_PHOTO))
    blurrer_photo = _upload(event, organizer, jobs, upload_of(BLURRER_PHOTO))
    tilted_photo = _upload(event, organizer, jobs, _tilted(HIDER_PHOTO))
    tilted_face = Face.objects.get(photo=tilted_photo)
    name_cluster(tilted_face.cluster, "Barack", person=hider, reviewer=organizer)
    for photo in (hider_photo, blurrer_photo, tilted_photo):
        _store_rendition(photo)
    ShareLink.objects.create(event=event, created_by=organizer)
    return Party(event, organizer, attendee, hider, blurrer, hider_photo, tilted_photo, blurrer_photo)


def _references(user_id, photos=()) -> dict[str, int]:
    """Count the rows that refer to the person's selfies, embeddings and matches.

    photos are those that show the person: their faces' embeddings count too.
    """
    user_id = str(user_id)
    return {
        "selfies": Selfie.objects.filter(user_id=user_id).count(),
        "face embeddings": Face.objects.filter(photo__in=photos, embedding__isnull=False).count(),
        "matched faces": Face.objects.filter(identity_id=user_id).count(),
        "candidate faces": Face.objects.filter(candidate_id=user_id).count(),
        "plausible faces": Face.objects.filter(plausible_identities__contains=[user_id]).count(),
        "linked faces": Face.objects.filter(linked_identities__contains=[user_id]).count(),
        "linked clusters": FaceCluster.objects.filter(person_id=user_id).count(),
        "memberships": Membership.objects.filter(user_id=user_id).count(),
    }


def _stored_files(folder: str) -> list[str]:
    """List every file under the folder of the storage root, walking the disk itself."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(
        str((Path(directory) / name).relative_to(root))
        for directory, _, names in os.walk(root / folder)
        for name in names
    )


def _rendition_files(photo: Photo) -> list[str]:
    return _stored_files(f"renditions/{photo.event_id}/{photo.id}")


def _missing(references: dict[str, int]) -> list[str]:
    return [name for name, count in references.items() if count == 0]


# Erasure leaves no rows and no files.


@pytest.mark.django_db(transaction=True)
def test_withdrawal_leaves_no_trace(party, jobs):
    hider = party.hider
    before = _references(hider.id, [party.hider_photo, party.tilted_photo])
    selfie_files_before = _stored_files(f"selfies/{hider.id}")
    renditions_before = [_rendition_files(party.hider_photo), _rendition_files(party.tilted_photo)]

    account_services.withdraw_consent(hider)
    jobs.run_all()

    assert _missing(before) == []
    assert len(selfie_files_before) == 1
    assert all(len(files) == 1 for files in renditions_before)
    after = _references(hider.id, [party.hider_photo, party.tilted_photo])
    assert after.pop("memberships") == 1
    assert after == dict.fromkeys(after, 0)
    assert _stored_files(f"selfies/{hider.id}") == []
    assert not (Path(settings.MEDIA_ROOT) / f"selfies/{hider.id}").exists()
    assert _rendition_files(party.hider_photo) == []
    assert _rendition_files(party.tilted_photo) == []
    # The rendition of a photo he was never in stays.
    assert len(_rendition_files(party.blurrer_photo)) == 1


@pytest.mark.django_db(transaction=True)
def test_account_deletion_leaves_no_trace(party, jobs):
    # Deleting the row clears the instance's id, so keep it.
    hider_id = party.hider.id
    before = _references(hider_id, [party.hider_photo, party.tilted_photo])
    selfie_files_before = _stored_files(f"selfies/{hider_id}")

    account_services.delete_account(party.hider)
    jobs.run_all()

    assert _missing(before) == []
    assert len(selfie_files_before) == 1
    assert not User.objects.filter(id=hider_id).exists()
    after = _references(hider_id, [party.hider_photo, party.tilted_photo])
    assert after == dict.fromkeys(after, 0)
    assert _stored_files(f"selfies/{hider_id}") == []
    assert _rendition_files(party.hider_photo) == []
    assert _rendition_files(party.tilted_photo) == []
    # The photos belong to the event, so they stay, without him.
    assert Photo.objects.filter(id=party.hider_photo.id).exists()


@pytest.mark.django_db(transaction=True)
def test_account_deletion_deletes_created_events(party, jobs):
    event, organizer = party.event, party.organizer
    photo_files_before = _stored_files(f"photos/{event.id}")
    rendition_files_before = _stored_files(f"renditions/{event.id}")

    account_services.delete_account(organizer)
    jobs.run_all()

    assert len(photo_files_before) == 3
    assert len(rendition_files_before) == 3
    assert not User.objects.filter(id=organizer.id).exists()
    assert not Event.objects.filter(id=event.id).exists()
    assert Photo.objects.filter(event_id=event.id).count() == 0
    assert Membership.objects.filter(event_id=event.id).count() == 0
    assert ShareLink.objects.filter(event_id=event.id).count() == 0
    assert _stored_files(f"photos/{event.id}") == []
    assert _stored_files(f"renditions/{event.id}") == []
    # The attendees keep their accounts and selfies, for their other events.
    assert User.objects.filter(id=party.hider.id).exists()
    assert len(_stored_files(f"selfies/{party.hider.id}")) == 1


@pytest.mark.django_db(transaction=True)
def test_leaving_leaves_no_trace(party, jobs):
    hider = party.hider
    before = _references(hider.id, [party.hider_photo, party.tilted_photo])

    event_services.leave_event(Membership.objects.get(event=party.event, user=hider))
    jobs.run_all()

    assert _missing(before) == []
    after = _references(hider.id, [party.hider_photo, party.tilted_photo])
    # His selfies stay for the other events he may join; this event no longer uses them.
    assert after.pop("selfies") == 1
    assert after == dict.fromkeys(after, 0)
    assert _rendition_files(party.hider_photo) == []
    assert _rendition_files(party.tilted_photo) == []
    assert event_access(hider, party.event.id) is None


@pytest.mark.django_db(transaction=True)
def test_event_deletion_leaves_no_trace(party, jobs):
    event = party.event
    rows_before = _event_rows(event.id)
    photo_files_before = _stored_files(f"photos/{event.id}")
    rendition_files_before = _stored_files(f"renditions/{event.id}")

    event_services.delete_event(event, party.organizer)
    jobs.run_all()

    assert _missing(rows_before) == []
    assert len(photo_files_before) == 3
    assert len(rendition_files_before) == 3
    after = _event_rows(event.id)
    assert after == dict.fromkeys(after, 0)
    assert _stored_files(f"photos/{event.id}") == []
    assert _stored_files(f"renditions/{event.id}") == []
    hider_after = _references(party.hider.id)
    assert hider_after.pop("selfies") == 1
    assert hider_after == dict.fromkeys(hider_after, 0)


def _event_rows(event_id) -> dict[str, int]:
    return {
        "events": Event.objects.filter(id=event_id).count(),
        "photos": Photo.objects.filter(event_id=event_id).count(),
        "faces": Face.objects.filter(photo__event_id=event_id).count(),
        "clusters": FaceCluster.objects.filter(event_id=event_id).count(),
        "renditions": RenditionFile.objects.filter(photo__event_id=event_id).count(),
        "memberships": Membership.objects.filter(event_id=event_id).count(),
        "share links": ShareLink.objects.filter(event_id=event_id).count(),
    }


# Erasure never unveils a face.


def _image_status(client, viewer: User, photo: Photo) -> int:
    client.force_login(viewer)
    return client.get(reverse("events:photo_image", args=[photo.id, "large"])).status_code


def _blurred_boxes(viewer: User, photo: Photo) -> tuple:
    loaded = photos_with_faces(Photo.objects.filter(id=photo.id)).get()
    rendition = photo_rendition(event_access(viewer, photo.event_id), loaded)
    return rendition.blurred_boxes if rendition is not None else None


def _erase(action: str, party: Party, user: User) -> None:
    if action == "withdraw":
        account_services.withdraw_consent(user)
    elif action == "delete account":
        account_services.delete_account(user)
    else:
        event_services.leave_event(Membership.objects.get(event=party.event, user=user))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["withdraw", "delete account", "leave"])
def test_erasure_never_unveils(party, jobs, client, action):
    blurrer_face = Face.objects.get(photo=party.blurrer_photo)
    assert blurrer_face.identity_id == party.blurrer.id
    assert Face.objects.get(photo=party.hider_photo).identity_id == party.hider.id

    _erase(action, party, party.hider)
    _erase(action, party, party.blurrer)
    jobs.run_all()

    for viewer in (party.organizer, party.attendee):
        assert _image_status(client, viewer, party.hider_photo) == HTTPStatus.NOT_FOUND
        assert _image_status(client, viewer, party.tilted_photo) == HTTPStatus.NOT_FOUND
        assert _image_status(client, viewer, party.blurrer_photo) == HTTPStatus.OK
        assert _blurred_boxes(viewer, party.blurrer_photo) == (blurrer_face.box,)
    assert Face.objects.get(photo=party.hider_photo).sharing_floor == Sharing.HIDE
    assert Face.objects.get(photo=party.tilted_photo).sharing_floor == Sharing.HIDE
    assert Face.objects.get(photo=party.blurrer_photo).sharing_floor == Sharing.BLUR


@pytest.mark.django_db(transaction=True)
def test_floor_survives_later_reclassification(party, jobs):
    account_services.withdraw_consent(party.hider)
    jobs.run_all()

    # Another member joins, which re-classifies every face of the event again.
    event_services.join_event(make_user("late-joiner"), party.event.invite_code)
    jobs.run_all()

    face = Face.objects.get(photo=party.hider_photo)
    assert face.status != Decision.MATCHED
    assert face.sharing_floor == Sharing.HIDE
    assert _blurred_boxes(party.attendee, party.hider_photo) is None


# The personal data download.

EXPORTER_SELFIES = ["identities/joe_biden/fr_biden.jpg"]
EXPORTER_PHOTO = "identities/joe_biden/fr_biden2.jpg"
# Obama and Biden side by side.
GROUP_PHOTO = "group/fr_two_people.jpg"


@dataclass
class Download:
    event: Event
    exporter: User
    hider: User
    others: list[User]
    own_photo: Photo
    group_photo: Photo


@pytest.fixture
def download(event, organizer, attendee, jobs) -> Download:
    event.unknown_face_policy = "show"
    event.save(update_fields=["unknown_face_policy"])
    hider = _enroll("hidden-barack", Sharing.HIDE, HIDER_SELFIES, event)
    exporter = _enroll("joe", Sharing.SHARE, EXPORTER_SELFIES, event)
    for user in (organizer, attendee):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    jobs.run_all()

    own_photo = _upload(event, organizer, jobs, upload_of(EXPORTER_PHOTO))
    group_photo = _upload(event, organizer, jobs, upload_of(GROUP_PHOTO))
    return Download(event, exporter, hider, [organizer, attendee, hider], own_photo, group_photo)


def _download(client, user: User) -> zipfile.ZipFile:
    client.force_login(user)
    response = client.get(reverse("accounts:download_data"))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "private, no-store"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db(transaction=True)
def test_data_download_contents(download, client):
    exporter = download.exporter
    selfie = Selfie.objects.get(user=exporter)
    matched = Face.objects.filter(identity=exporter).values_list("photo_id", flat=True)

    archive = _download(client, exporter)

    assert set(matched) == {download.own_photo.id, download.group_photo.id}
    assert sorted(archive.namelist()) == sorted(
        [
            "data.json",
            f"photos/{download.event.id}/{download.own_photo.id}.jpg",
            f"selfies/{selfie.id}.jpg",
        ]
    )
    assert archive.read(f"selfies/{selfie.id}.jpg") == (faces_dir() / EXPORTER_SELFIES[0]).read_bytes()
    own_photo = photos_with_faces(Photo.objects.filter(id=download.own_photo.id)).get()
    expected_photo = render_photo(
        own_photo, photo_rendition(event_access(exporter, download.event.id), own_photo), PHOTO_SIZE
    )
    assert archive.read(f"photos/{download.event.id}/{download.own_photo.id}.jpg") == expected_photo

    data = json.loads(archive.read("data.json"))
    assert data["account"]["id"] == str(exporter.id)
    assert data["account"]["username"] == "joe"
    assert data["account"]["email"] == "joe@example.org"
    assert data["account"]["default_sharing"] == Sharing.SHARE
    assert data["account"]["biometric_consent_at"] is not None
    assert "password" not in data["account"]
    assert [event["name"] for event in data["events"]] == ["Spring gala"]
    assert "matched_faces" not in data["events"][0]
    assert data["events"][0]["effective_sharing"] == Sharing.SHARE
    assert [item["status"] for item in data["selfies"]] == [JobStatus.DONE]


@pytest.mark.django_db(transaction=True)
def test_data_download_names_nobody_else(download, client):
    text = _download(client, download.exporter).read("data.json").decode()

    for other in download.others:
        assert other.username not in text
        assert other.email not in text
        assert str(other.id) not in text
    assert User.objects.get(id=download.exporter.id).password not in text


@pytest.mark.django_db(transaction=True)
def test_data_download_keeps_others_blur(download, client):
    # The hider now blurs: the group photo joins the download with his face blurred.
    event_services.set_event_sharing(Membership.objects.get(event=download.event, user=download.hider), Sharing.BLUR)
    hider_face = Face.objects.get(photo=download.group_photo, identity=download.hider)

    archive = _download(client, download.exporter)

    group = photos_with_faces(Photo.objects.filter(id=download.group_photo.id)).get()
    expected = render_photo(group, Rendition((hider_face.box,)), PHOTO_SIZE)
    assert archive.read(f"photos/{download.event.id}/{download.group_photo.id}.jpg") == expected


@pytest.mark.django_db(transaction=True)
def test_data_download_only_requester(download, client, stranger):
    archive = _download(client, stranger)

    assert archive.namelist() == ["data.json"]
    data = json.loads(archive.read("data.json"))
    assert data["account"]["id"] == str(stranger.id)
    assert data["events"] == []
    assert "joe" not in archive.read("data.json").decode()


@pytest.mark.django_db
def test_data_download_needs_login(client):
    response = client.get(reverse("accounts:download_data"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_data_download_rejects_put(client, attendee):
    client.force_login(attendee)

    assert client.put(reverse("accounts:download_data")).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# Pages and links, for each role.


@pytest.mark.django_db
def test_event_nav_offers_leave_to_attendee(client, event, attendee):
    client.force_login(attendee)

    page = client.get(reverse("events:gallery", args=[event.id])).content.decode()

    assert reverse("events:leave", args=[event.id]) in page
    assert reverse("events:delete", args=[event.id]) not in page


@pytest.mark.django_db
def test_event_nav_offers_delete_to_organizer(client, event, organizer):
    client.force_login(organizer)

    page = client.get(reverse("events:gallery", args=[event.id])).content.decode()

    assert reverse("events:delete", args=[event.id]) in page
    assert reverse("events:leave", args=[event.id]) not in page


@pytest.mark.django_db(transaction=True)
def test_leave_page_for_attendee(client, event, attendee, jobs):
    client.force_login(attendee)
    url = reverse("events:leave", args=[event.id])

    confirmation = client.get(url)
    response = client.post(url)

    assert confirmation.status_code == HTTPStatus.OK
    assert Membership.objects.filter(event=event, user=attendee).count() == 0
    assert response["Location"] == reverse("events:home")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["organizer", "stranger"])
def test_leave_page_refused(client, event, organizer, stranger, role):
    user = organizer if role == "organizer" else stranger
    client.force_login(user)
    url = reverse("events:leave", args=[event.id])

    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert client.post(url).status_code == HTTPStatus.NOT_FOUND
    assert Membership.objects.filter(event=event, user=organizer).exists()


@pytest.mark.django_db
def test_organizer_cannot_leave_by_service(event, organizer):
    with pytest.raises(event_services.OrganizerCannotLeave):
        event_services.leave_event(Membership.objects.get(event=event, user=organizer))

    assert Membership.objects.filter(event=event, user=organizer).exists()


@pytest.mark.django_db(transaction=True)
def test_delete_event_page_for_organizer(client, event, organizer, jobs):
    client.force_login(organizer)
    url = reverse("events:delete", args=[event.id])

    confirmation = client.get(url)
    response = client.post(url)

    assert confirmation.status_code == HTTPStatus.OK
    assert "2 members" in confirmation.content.decode()
    assert not Event.objects.filter(id=event.id).exists()
    assert response["Location"] == reverse("events:home")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["attendee", "stranger"])
def test_delete_event_page_refused(client, event, attendee, stranger, role):
    client.force_login(attendee if role == "attendee" else stranger)
    url = reverse("events:delete", args=[event.id])

    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert client.post(url).status_code == HTTPStatus.NOT_FOUND
    assert Event.objects.filter(id=event.id).exists()


@pytest.mark.django_db
def test_enrollment_page_links_to_download_and_deletion(client, attendee):
    client.force_login(attendee)

    page = client.get(reverse("accounts:enrollment")).content.decode()

    assert reverse("accounts:download_data") in page
    assert reverse("accounts:delete_account") in page


@pytest.mark.django_db
def test_account_deletion_page_lists_created_events(client, event, organizer):
    client.force_login(organizer)

    page = client.get(reverse("accounts:delete_account")).content.decode()

    assert "<li>Spring gala</li>" in page
    assert User.objects.filter(id=organizer.id).exists()


@pytest.mark.django_db(transaction=True)
def test_account_deletion_logs_out(client, event, attendee, jobs):
    client.force_login(attendee)

    response = client.post(reverse("accounts:delete_account"))
    next_page = client.get(reverse("accounts:enrollment"))

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(id=attendee.id).exists()
    assert next_page.status_code == HTTPStatus.FOUND
    assert next_page["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_erasure_pages_in_french(client, event, attendee):
    client.force_login(attendee)

    enrollment = client.get(reverse("accounts:enrollment"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    leave = client.get(reverse("events:leave", args=[event.id]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "Télécharger mes données" in enrollment
    assert "Supprimer mon compte" in enrollment
    assert "Quitter cet événement" in leave


@pytest.mark.django_db
def test_settings_page_records_policy_change(client, event, organizer):
    client.force_login(organizer)

    client.post(reverse("events:settings", args=[event.id]), {"name": "Spring gala", "unknown_face_policy": "blur"})

    entry = AuditEntry.objects.get(action=AuditAction.POLICY_CHANGED, event_id=event.id)
    assert Event.objects.get(id=event.id).unknown_face_policy == "blur"
    assert entry.actor_id == organizer.id
    assert entry.event_id == event.id
    assert entry.details == {"old": "hold", "new": "blur"}


# The audit log.


@dataclass
class Expected:
    action: str
    actor: str
    subject: str | None
    in_event: bool


def _synthetic_selfie(user: User, embedding: np.ndarray) -> Selfie:
    return Selfie.objects.create(
        user=user,
        file=SimpleUploadedFile("private-name.jpg", b"unused"),
        original_name="private-name.jpg",
        checksum="0" * 64,
        status=JobStatus.DONE,
        embedding=embedding,
    )


def _synthetic_clusters(event: Event, organizer: User, count: int) -> list[FaceCluster]:
    """Create clusters of one unknown face each, on a photo with no real file."""
    photo = Photo.objects.create(
        event=event, uploaded_by=organizer, file="photos/none.jpg", original_name="p.jpg", status=JobStatus.DONE
    )
    clusters = []
    for index in range(count):
        cluster = FaceCluster.objects.create(event=event)
        make_face_row(photo, index, embedding=_unit_vector(index), status=Decision.UNKNOWN, cluster=cluster)
        clusters.append(cluster)
    return clusters


def _unit_vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=512).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _audited_actions(event, organizer, attendee, tmp_path):
    """Return each audited action as (name, a function that does it, what its entry must contain)."""
    membership = Membership.objects.get(event=event, user=attendee)

    def classifier_export():
        account_services.give_consent(attendee, Sharing.SHARE)
        for seed in range(3):
            _synthetic_selfie(attendee, _unit_vector(seed))
        AuditEntry.objects.all().delete()
        call_command("export_classifier", str(event.id), "--output", str(tmp_path / "event.npz"), stdout=io.StringIO())

    def merge():
        first, second = _synthetic_clusters(event, organizer, 2)
        merge_clusters(first, [second], reviewer=organizer)

    def split():
        (cluster,) = _synthetic_clusters(event, organizer, 1)
        Face.objects.create(
            photo=Face.objects.get(cluster=cluster).photo,
            box_x=500,
            box_y=0,
            box_width=80,
            box_height=80,
            confidence=0.99,
            embedding=_unit_vector(9),
            status=Decision.UNKNOWN,
            cluster=cluster,
        )
        split_cluster(cluster, [Face.objects.filter(cluster=cluster).first().id], reviewer=organizer)

    def name():
        (cluster,) = _synthetic_clusters(event, organizer, 1)
        name_cluster(cluster, "Arthur Private", person=attendee, reviewer=organizer)

    def selfie_deletion():
        selfie = _synthetic_selfie(attendee, _unit_vector(0))
        AuditEntry.objects.all().delete()
        account_services.delete_selfie(selfie)

    return {
        "consent given": (
            lambda: account_services.give_consent(attendee, Sharing.BLUR),
            Expected(AuditAction.CONSENT_GIVEN, "attendee", "attendee", False),
        ),
        "consent withdrawn": (
            lambda: account_services.withdraw_consent(attendee),
            Expected(AuditAction.CONSENT_WITHDRAWN, "attendee", "attendee", False),
        ),
        "default sharing": (
            lambda: account_services.set_default_sharing(attendee, Sharing.BLUR),
            Expected(AuditAction.SHARING_CHANGED, "attendee", "attendee", False),
        ),
        "event sharing": (
            lambda: event_services.set_event_sharing(membership, Sharing.HIDE),
            Expected(AuditAction.SHARING_CHANGED, "attendee", "attendee", True),
        ),
        "policy": (
            lambda: event_services.update_event_settings(event, organizer, "Spring gala", "blur"),
            Expected(AuditAction.POLICY_CHANGED, "organizer", None, True),
        ),
        "merge": (merge, Expected(AuditAction.REVIEW_DECISION, "organizer", None, True)),
        "split": (split, Expected(AuditAction.REVIEW_DECISION, "organizer", None, True)),
        "name": (name, Expected(AuditAction.REVIEW_DECISION, "organizer", "attendee", True)),
        "selfie deleted": (selfie_deletion, Expected(AuditAction.SELFIE_DELETED, "attendee", "attendee", False)),
        "event left": (
            lambda: event_services.leave_event(membership),
            Expected(AuditAction.EVENT_LEFT, "attendee", "attendee", True),
        ),
        "event deleted": (
            lambda: event_services.delete_event(event, organizer),
            Expected(AuditAction.EVENT_DELETED, "organizer", None, True),
        ),
        "account deleted": (
            lambda: account_services.delete_account(attendee),
            Expected(AuditAction.ACCOUNT_DELETED, "attendee", "attendee", False),
        ),
        "data exported": (
            lambda: export_personal_data(attendee).close(),
            Expected(AuditAction.DATA_EXPORTED, "attendee", "attendee", False),
        ),
        "classifier exported": (classifier_export, Expected(AuditAction.CLASSIFIER_EXPORTED, None, None, True)),
    }


AUDITED = [
    "consent given",
    "consent withdrawn",
    "default sharing",
    "event sharing",
    "policy",
    "merge",
    "split",
    "name",
    "selfie deleted",
    "event left",
    "event deleted",
    "account deleted",
    "data exported",
    "classifier exported",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", AUDITED)
def test_action_writes_one_audit_entry(event, organizer, attendee, tmp_path, name):
    for user in (organizer, attendee):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    if name != "consent given":
        account_services.give_consent(attendee, Sharing.SHARE)
    work, expected = _audited_actions(event, organizer, attendee, tmp_path)[name]
    # Deleting a row clears its instance's id, so keep the ids.
    people = {"attendee": attendee.id, "organizer": organizer.id, None: None}
    event_id = event.id
    # Module-scoped fixtures of other test files leave entries behind, and the setup above writes some.
    AuditEntry.objects.all().delete()

    work()

    (entry,) = AuditEntry.objects.all()
    assert entry.action == expected.action
    assert entry.actor_id == people[expected.actor]
    assert entry.subject_id == people[expected.subject]
    assert entry.event_id == (event_id if expected.in_event else None)
    details = json.dumps(entry.details)
    for private in ("arthur", "olivia", "@example.org", "Spring gala", "private-name", "Arthur Private", "event.npz"):
        assert private not in details


@pytest.mark.django_db
def test_sharing_entry_holds_old_and_new(event, attendee):
    membership = Membership.objects.get(event=event, user=attendee)

    account_services.set_default_sharing(attendee, Sharing.BLUR)
    event_services.set_event_sharing(membership, Sharing.HIDE)

    entries = AuditEntry.objects.filter(action=AuditAction.SHARING_CHANGED, subject_id=attendee.id).order_by("at", "id")
    assert [entry.details for entry in entries] == [
        {"scope": "default", "old": Sharing.SHARE, "new": Sharing.BLUR},
        {"scope": "event", "old": None, "new": Sharing.HIDE},
    ]


@pytest.mark.django_db
def test_unchanged_choice_not_audited(event, attendee):
    account_services.set_default_sharing(attendee, Sharing.SHARE)
    event_services.set_event_sharing(Membership.objects.get(event=event, user=attendee), None)

    assert AuditEntry.objects.filter(subject_id=attendee.id).count() == 0


@pytest.mark.django_db
def test_account_deletion_audits_created_events(event, organizer):
    organizer_id, event_id = organizer.id, event.id

    account_services.delete_account(organizer)

    account_entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_DELETED, subject_id=organizer_id)
    event_entry = AuditEntry.objects.get(action=AuditAction.EVENT_DELETED, event_id=event_id)
    assert account_entry.subject_id == organizer_id
    assert account_entry.details == {"events_deleted": [str(event_id)]}
    assert event_entry.event_id == event_id
    assert event_entry.actor_id == organizer_id


@pytest.fixture
def site_admin(db) -> User:
    return User.objects.create_superuser(username="root", password="a long admin passphrase")


@pytest.fixture
def admin_client_with_entry(client, attendee, site_admin):
    account_services.set_default_sharing(attendee, Sharing.BLUR)
    client.force_login(site_admin)
    return client, AuditEntry.objects.get(subject_id=attendee.id)


@pytest.mark.django_db
def test_audit_log_readable_by_admin(admin_client_with_entry):
    client, entry = admin_client_with_entry

    changelist = client.get(reverse("admin:accounts_auditentry_changelist"))
    detail = client.get(reverse("admin:accounts_auditentry_change", args=[entry.id]))

    assert changelist.status_code == HTTPStatus.OK
    assert str(entry.subject_id) in changelist.content.decode()
    assert detail.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_audit_log_not_editable_by_admin(admin_client_with_entry):
    client, entry = admin_client_with_entry

    add = client.post(reverse("admin:accounts_auditentry_add"), {"action": "consent_given"})
    change = client.post(reverse("admin:accounts_auditentry_change", args=[entry.id]), {"action": "consent_given"})
    delete = client.post(reverse("admin:accounts_auditentry_delete", args=[entry.id]), {"post": "yes"})

    assert add.status_code == HTTPStatus.FORBIDDEN
    assert change.status_code == HTTPStatus.FORBIDDEN
    assert delete.status_code == HTTPStatus.FORBIDDEN
    assert AuditEntry.objects.get(id=entry.id).action == AuditAction.SHARING_CHANGED


@pytest.mark.django_db
def test_audit_entry_outlives_person(attendee):
    attendee_id = attendee.id

    account_services.delete_account(attendee)

    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_DELETED, subject_id=attendee_id)
    assert entry.actor_id == attendee_id
    assert not User.objects.filter(id=attendee_id).exists()


@pytest.mark.django_db(transaction=True)
def test_admin_user_deletion_erases(client, attendee, site_admin, jobs):
    attendee_id = attendee.id
    account_services.give_consent(attendee, Sharing.SHARE)
    _synthetic_selfie(attendee, _unit_vector(0))
    files_before = _stored_files(f"selfies/{attendee_id}")
    client.force_login(site_admin)

    response = client.post(reverse("admin:accounts_user_delete", args=[attendee_id]), {"post": "yes"})

    assert len(files_before) == 1
    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(id=attendee_id).exists()
    assert _stored_files(f"selfies/{attendee_id}") == []
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_DELETED, subject_id=attendee_id)
    assert entry.actor_id == site_admin.id


@pytest.mark.django_db(transaction=True)
def test_admin_event_deletion_deletes_files(client, event, organizer, site_admin, jobs):
    event_id = event.id
    event_services.upload_photos(event, organizer, [upload_of(BLURRER_PHOTO)])
    files_before = _stored_files(f"photos/{event_id}")
    client.force_login(site_admin)

    response = client.post(reverse("admin:events_event_delete", args=[event_id]), {"post": "yes"})

    assert len(files_before) == 1
    assert response.status_code == HTTPStatus.FOUND
    assert not Event.objects.filter(id=event_id).exists()
    assert _stored_files(f"photos/{event_id}") == []
    assert AuditEntry.objects.get(action=AuditAction.EVENT_DELETED, event_id=event_id).actor_id == site_admin.id


@pytest.mark.django_db(transaction=True)
def test_nearest_candidate_face_left_alone(event, organizer, jobs):
    # An unknown face records its nearest person as candidate however far away:
    # erasing that person must not hide or blur a stranger for good.
    hider = make_user("hidden-barack", Sharing.HIDE)
    event_services.join_event(hider, event.invite_code)
    photo = Photo.objects.create(
        event=event, uploaded_by=organizer, file="photos/x.jpg", checksum="1" * 64, status=JobStatus.DONE
    )
    faces = {
        status: make_face_row(
            photo,
            index,
            embedding=_unit_vector(index),
            status=status,
            candidate=hider,
            distance=1.05 if status == Decision.UNCERTAIN else 1.35,
            plausible_identities=[str(hider.id)] if status == Decision.UNCERTAIN else [],
        )
        for index, status in enumerate([Decision.UNKNOWN.value, Decision.UNCERTAIN.value])
    }

    event_services.leave_event(Membership.objects.get(event=event, user=hider))

    stranger, uncertain = (Face.objects.get(id=faces[status].id) for status in faces)
    assert stranger.candidate_id is None
    assert stranger.sharing_floor == ""
    assert stranger.embedding is not None
    assert uncertain.candidate_id is None
    assert uncertain.sharing_floor == Sharing.HIDE
    assert uncertain.embedding is None

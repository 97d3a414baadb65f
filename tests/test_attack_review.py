"""Side doors that an attack review found: counts in the data download, leftover
folders and renditions, and the admin.

Barack Obama hides and Joe Biden shares. Both are in one group photo of an
event that shows unidentified faces, so only Obama's choice withholds that photo.
"""

import io
import json
import zipfile
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts import services as account_services
from accounts.models import AuditAction, AuditEntry, Sharing, User
from events import services as event_services
from events.models import Event, Membership, Photo, RenditionFile
from events.rendering import blur_key
from tests.conftest import JobRecorder, make_user, upload_of

GROUP_PHOTO = "group/fr_two_people.jpg"
HIDER_SELFIES = ["identities/barack_obama/fr_obama.jpg", "identities/barack_obama/fr_obama2.jpg"]
SHARER_SELFIES = ["identities/joe_biden/fr_biden.jpg", "identities/joe_biden/fr_biden2.jpg"]


@dataclass
class GroupEvent:
    event: Event
    organizer: User
    hider: User
    sharer: User
    photo: Photo


def _enroll(username: str, choice: str, selfies: list[str], event: Event) -> User:
    user = make_user(username)
    event_services.join_event(user, event.invite_code)
    account_services.give_consent(user, choice)
    account_services.add_selfies(user, [upload_of(path) for path in selfies])
    return user


@pytest.fixture
def group_event(jobs: JobRecorder) -> GroupEvent:
    organizer = make_user("olivia")
    event = event_services.create_event(organizer, "Spring gala", "show")
    hider = _enroll("hilda", Sharing.HIDE, HIDER_SELFIES, event)
    sharer = _enroll("arthur", Sharing.SHARE, SHARER_SELFIES, event)
    result = event_services.upload_photos(event, organizer, [upload_of(GROUP_PHOTO)])
    jobs.run_all()

    photo = Photo.objects.get(id=result.photos[0].id)
    matched = set(photo.faces.values_list("identity_id", flat=True))
    assert matched == {hider.id, sharer.id}
    return GroupEvent(event, organizer, hider, sharer, photo)


@pytest.mark.django_db(transaction=True)
def test_data_download_counts_only_shown_photos(group_event, client):
    # The sharer may not see the group photo, because the hider is in it.
    client.force_login(group_event.sharer)
    gallery = client.get(reverse("events:photos_of_me", args=[group_event.event.id]))
    assert group_event.photo.id not in [photo.id for photo, _ in gallery.context["page"].object_list]

    response = client.get(reverse("accounts:download_data"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    event_data = json.loads(archive.read("data.json"))["events"][0]

    assert event_data["photos"] == []
    # A count of matched faces that included the withheld photo would reveal to
    # the sharer that a photo of them exists which someone in it hides.
    assert "matched_faces" not in event_data
    assert event_data["photos_over_limit"] == 0


@pytest.mark.django_db(transaction=True)
def test_event_deletion_leaves_no_folders(group_event, client):
    event = group_event.event
    hider_membership = Membership.objects.get(event=event, user=group_event.hider)
    # A rendition made while the hider shared, deleted (file only) when she hides again.
    event_services.set_event_sharing(hider_membership, Sharing.SHARE)
    client.force_login(group_event.organizer)
    assert client.get(reverse("events:photo_image", args=[group_event.photo.id, "thumb"])).status_code == 200
    event_services.set_event_sharing(hider_membership, Sharing.HIDE)

    # Deleting the row clears the instance's id, so keep it.
    event_id = str(event.id)
    event_services.delete_event(event, group_event.organizer)

    root = Path(settings.MEDIA_ROOT)
    left = sorted(str(path.relative_to(root)) for path in root.rglob("*") if event_id in str(path))
    # Folders named by the event's and photos' ids reveal that the event existed.
    assert left == []


@pytest.mark.django_db(transaction=True)
def test_reclassification_drops_unblurred_rendition(jobs, client):
    organizer = make_user("olivia")
    event = event_services.create_event(organizer, "Spring gala", "show")
    result = event_services.upload_photos(event, organizer, [upload_of("identities/barack_obama/fr_obama1.jpg")])
    jobs.run_all()
    photo = Photo.objects.get(id=result.photos[0].id)
    client.force_login(organizer)
    assert client.get(reverse("events:photo_image", args=[photo.id, "large"])).status_code == 200
    assert RenditionFile.objects.filter(photo=photo, blur_key=blur_key(())).count() == 1

    # Obama joins and enrolls, choosing blur: the face is now his, and blurred.
    _enroll("hilda", Sharing.BLUR, HIDER_SELFIES, event)
    jobs.run_all()
    assert photo.faces.get().identity.username == "hilda"

    # The stored copy that shows his face unblurred outlives the reason it was made.
    assert RenditionFile.objects.filter(photo=photo, blur_key=blur_key(())).count() == 0


@pytest.mark.django_db(transaction=True)
def test_admin_cannot_change_choice(group_event, client):
    admin = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    membership = Membership.objects.get(event=group_event.event, user=group_event.hider)
    client.force_login(admin)

    url = reverse("admin:events_membership_change", args=[membership.id])
    response = client.post(
        url,
        {"event": group_event.event.id, "user": group_event.hider.id, "role": "attendee", "sharing": "share"},
    )

    assert response.status_code == HTTPStatus.FOUND
    membership.refresh_from_db()
    # Only the person changes their choice; the admin form ignores the field.
    assert membership.sharing is None
    assert membership.effective_sharing == Sharing.HIDE
    assert AuditEntry.objects.filter(action=AuditAction.SHARING_CHANGED, subject_id=group_event.hider.id).count() == 0


@pytest.mark.django_db(transaction=True)
def test_admin_policy_change_is_audited(group_event, client):
    admin = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    event = group_event.event
    client.force_login(admin)

    url = reverse("admin:events_event_change", args=[event.id])
    response = client.post(
        url,
        {
            "name": event.name,
            "created_by": group_event.organizer.id,
            "invite_code": event.invite_code,
            "unknown_face_policy": "blur",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    event.refresh_from_db()
    assert event.unknown_face_policy == "blur"
    assert AuditEntry.objects.filter(action=AuditAction.POLICY_CHANGED, event_id=event.id).count() == 1

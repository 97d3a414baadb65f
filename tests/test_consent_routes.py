"""The consent rule from the outside: every route, as each kind of visitor.

Three enrolled attendees on real photos: Angelina Jolie hides, Barack Obama
blurs, George Clooney shares. The organizer and the attendees are members; a
stranger and an anonymous visitor are not. The event shows unidentified faces.
"""

import io
from dataclasses import dataclass
from http import HTTPStatus

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, JobStatus, Photo
from recognition import services as recognition_services
from recognition.models import Face
from tests.conftest import JobRecorder, make_user, upload_of

ENROLLMENT = {
    "hider": ("angelina_jolie", Sharing.HIDE, ["df_img1.jpg", "df_img2.jpg"]),
    "blurrer": ("barack_obama", Sharing.BLUR, ["fr_obama.jpg", "fr_obama2.jpg"]),
    "sharer": ("george_clooney", Sharing.SHARE, ["df_img38.jpg", "df_img39.jpg"]),
}
PHOTOS = {
    "hider_alone": "identities/angelina_jolie/df_img10.jpg",
    "hider_couple": "group/df_couple.jpg",
    "blurrer_alone": "identities/barack_obama/fr_obama1.jpg",
    "blurrer_with_stranger": "group/fr_two_people.jpg",
    # This file carries EXIF with a GPS position.
    "sharer_alone": "identities/george_clooney/df_img41.jpg",
}
PENDING_PHOTO = "identities/george_clooney/df_img40.jpg"
VIEWERS = ("organizer", "hider", "blurrer", "sharer", "stranger")


@dataclass
class Party:
    event: Event
    users: dict[str, User]
    photos: dict[str, Photo]

    def client_for(self, role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(self.users[role])
        return client


@pytest.fixture(scope="module")
def party(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        recorder = JobRecorder()
        patch.setattr("recognition.queue.send", recorder)

        users = {"organizer": make_user("party-organizer"), "stranger": make_user("party-stranger", Sharing.SHARE)}
        event = event_services.create_event(users["organizer"], "Party", "show")
        for role, (identity, sharing, selfies) in ENROLLMENT.items():
            users[role] = make_user(f"party-{role}")
            account_services.give_consent(users[role], sharing)
            event_services.join_event(users[role], event.invite_code)
            uploads = [upload_of(f"identities/{identity}/{name}") for name in selfies]
            account_services.add_selfies(users[role], uploads)
        recorder.run_all()

        uploads = [upload_of(path) for path in PHOTOS.values()]
        result = event_services.upload_photos(event, users["organizer"], uploads)
        recorder.run_all()
        photos = dict(zip(PHOTOS, result.photos, strict=True))

        pending = event_services.upload_photos(event, users["organizer"], [upload_of(PENDING_PHOTO)])
        recorder.sent.clear()
        photos["pending"] = pending.photos[0]

        yield Party(event, users, photos)

        Event.objects.filter(id=event.id).delete()
        User.objects.filter(username__startswith="party-").delete()


def photo_urls(photo: Photo) -> dict[str, str]:
    return {
        "detail": reverse("events:photo", args=[photo.id]),
        "thumb": reverse("events:photo_image", args=[photo.id, "thumb"]),
        "large": reverse("events:photo_image", args=[photo.id, "large"]),
        "original": reverse("events:photo_image", args=[photo.id, "original"]),
        "download": reverse("events:photo_download", args=[photo.id]),
    }


def may_see(role: str, photo_key: str) -> bool:
    """The expected outcome of the consent rule for this party, written out by hand."""
    if role == "stranger":
        return False
    if photo_key.startswith("hider"):
        return role == "hider"
    if photo_key == "pending":
        return role == "organizer"
    return True


def decode(response) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))


@pytest.mark.django_db
def test_photos_processed_as_expected(party):
    for key in PHOTOS:
        party.photos[key].refresh_from_db()
        assert party.photos[key].status == JobStatus.DONE, key

    hider_faces = Face.objects.filter(photo=party.photos["hider_alone"], identity=party.users["hider"])
    blurrer_faces = Face.objects.filter(photo=party.photos["blurrer_with_stranger"], identity=party.users["blurrer"])
    assert hider_faces.count() == 1
    assert blurrer_faces.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEWERS)
@pytest.mark.parametrize("photo_key", [*PHOTOS, "pending"])
def test_photo_routes_follow_rule(party, role, photo_key):
    client = party.client_for(role)
    expected = HTTPStatus.OK if may_see(role, photo_key) else HTTPStatus.NOT_FOUND

    for route, url in photo_urls(party.photos[photo_key]).items():
        if photo_key == "pending" and route != "detail" and expected == HTTPStatus.OK:
            continue  # The uploader's view of an unprocessed photo is checked below.
        assert client.get(url).status_code == expected, (role, photo_key, route)


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEWERS)
def test_gallery_lists_only_allowed_photos(party, role):
    response = party.client_for(role).get(reverse("events:gallery", args=[party.event.id]))

    if role == "stranger":
        assert response.status_code == HTTPStatus.NOT_FOUND
        return
    page = response.content.decode()
    for key, photo in party.photos.items():
        assert (str(photo.id) in page) == may_see(role, key), (role, key)


@pytest.mark.django_db
def test_gallery_count_excludes_hidden(party):
    response = party.client_for("sharer").get(reverse("events:gallery", args=[party.event.id]))

    # Five processed photos, two of them show the hiding attendee.
    assert "3 photos" in response.content.decode()


@pytest.mark.django_db
def test_photos_of_me_for_hider(party):
    response = party.client_for("hider").get(reverse("events:photos_of_me", args=[party.event.id]))
    page = response.content.decode()

    assert str(party.photos["hider_alone"].id) in page
    assert str(party.photos["hider_couple"].id) in page
    assert str(party.photos["sharer_alone"].id) not in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["organizer", "sharer", "blurrer"])
def test_photos_of_me_never_leaks_hider(party, role):
    response = party.client_for(role).get(reverse("events:photos_of_me", args=[party.event.id]))

    assert str(party.photos["hider_alone"].id) not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["events:gallery", "events:photos_of_me", "events:upload", "events:sharing", "events:invite", "events:settings"],
)
def test_event_pages_hidden_from_stranger(party, url_name):
    response = party.client_for("stranger").get(reverse(url_name, args=[party.event.id]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["events:upload", "events:invite", "events:settings"])
def test_organizer_pages_hidden_from_attendee(party, url_name):
    response = party.client_for("sharer").get(reverse(url_name, args=[party.event.id]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_anonymous_visitor_sent_to_login(party):
    client = party.client_for("anonymous")
    urls = [reverse("events:gallery", args=[party.event.id]), *photo_urls(party.photos["sharer_alone"]).values()]

    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
def test_unknown_image_size_not_found(party):
    url = reverse("events:photo_image", args=[party.photos["sharer_alone"].id, "raw"])

    assert party.client_for("sharer").get(url).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_uploader_sees_pending_photo(party):
    url = photo_urls(party.photos["pending"])["thumb"]

    response = party.client_for("organizer").get(url)

    assert response.status_code == HTTPStatus.OK
    assert decode(response).format == "JPEG"


@pytest.mark.django_db
def test_served_images_carry_no_exif(party):
    photo = party.photos["sharer_alone"]
    with photo.file.open("rb") as stream:
        assert Image.open(stream).getexif().get_ifd(0x8825), "the source photo should carry GPS data"

    for route in ("thumb", "large", "original", "download"):
        image = decode(party.client_for("sharer").get(photo_urls(photo)[route]))
        assert image.info.get("exif") is None, route
        assert image.info.get("xmp") is None, route
        assert len(image.getexif()) == 0, route


@pytest.mark.django_db
def test_image_responses_not_cached(party):
    response = party.client_for("sharer").get(photo_urls(party.photos["sharer_alone"])["thumb"])

    assert "no-store" in response["Cache-Control"]


def _face_distance_in_served_image(image: Image.Image, face: Face) -> float:
    """Embed the served image's face nearest to the stored box; 2.0 when no face is found there."""
    analyzed = recognition_services.pipeline().analyze(np.asarray(image.convert("RGB")))
    center = np.array([face.box_x + face.box_width / 2, face.box_y + face.box_height / 2])
    for item in analyzed:
        box = item.face.box
        if np.linalg.norm(np.array([box.x + box.width / 2, box.y + box.height / 2]) - center) < face.box_width / 2:
            return float(np.linalg.norm(item.embedding - face.embedding))
    return 2.0


@pytest.mark.django_db
@pytest.mark.parametrize("photo_key", ["blurrer_alone", "blurrer_with_stranger"])
@pytest.mark.parametrize("role", ["organizer", "sharer"])
def test_blurred_face_unrecognizable_to_others(party, photo_key, role):
    photo = party.photos[photo_key]
    face = Face.objects.get(photo=photo, identity=party.users["blurrer"])

    image = decode(party.client_for(role).get(photo_urls(photo)["download"]))

    assert image.size == (photo.width, photo.height)
    assert _face_distance_in_served_image(image, face) > 1.2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("photo_key", "owner", "viewer"),
    [
        ("blurrer_alone", "blurrer", "blurrer"),  # a blurring attendee sees their own face
        ("sharer_alone", "sharer", "organizer"),  # a shared face reaches others intact
    ],
)
def test_unblurred_face_left_intact(party, photo_key, owner, viewer):
    photo = party.photos[photo_key]
    face = Face.objects.get(photo=photo, identity=party.users[owner])

    image = decode(party.client_for(viewer).get(photo_urls(photo)["download"]))

    assert _face_distance_in_served_image(image, face) < 0.2


@pytest.mark.django_db
def test_selfie_image_only_for_owner(party):
    selfie = party.users["hider"].selfies.first()
    url = reverse("accounts:selfie_image", args=[selfie.id])

    assert party.client_for("hider").get(url).status_code == HTTPStatus.OK
    for role in ("organizer", "sharer", "stranger"):
        assert party.client_for(role).get(url).status_code == HTTPStatus.NOT_FOUND, role


@pytest.mark.django_db
def test_changing_choice_to_hide_withdraws_photo(party):
    membership = party.users["sharer"].memberships.get(event=party.event)
    url = photo_urls(party.photos["sharer_alone"])["thumb"]

    event_services.set_event_sharing(membership, Sharing.HIDE)

    assert party.client_for("organizer").get(url).status_code == HTTPStatus.NOT_FOUND
    assert party.client_for("sharer").get(url).status_code == HTTPStatus.OK

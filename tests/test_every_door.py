"""Every URL of the project, asked by everyone, with every id: nothing reveals the person who hides.

The routes come from the URL conf, so a new route is attacked as soon as it
exists. A route with a parameter that this file has no values for fails the test.
Each response is searched for what would reveal Hilda, who chose "hide". Text
must not carry her name, e-mail or id, the ids of her photos, faces and
selfies, or a photo count that includes her photos. No image, also inside a
zip, may hold a face that the product's own recognizer matches to her selfies.
"""

import hashlib
import io
import re
import zipfile
from itertools import product
from urllib.parse import quote, unquote

import numpy as np
import pytest
from django.conf import settings
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, JobStatus, Membership, Photo, ShareLink
from recognition import services as recognition_services
from recognition.imaging import load_image_array
from recognition.models import Face, FaceCluster, Selfie
from tests.conftest import make_user, upload_of

HIDDEN_SELFIE = "identities/barack_obama/fr_obama.jpg"
ATTENDEE_SELFIE = "identities/joe_biden/fr_biden.jpg"
PHOTOS = [
    "identities/barack_obama/fr_obama1.jpg",  # Hilda alone
    "group/fr_obama_and_biden.jpg",  # Hilda beside Arthur
    "identities/joe_biden/fr_biden2.jpg",  # Arthur alone
    "group/fr_kit_with_rose.jpg",  # two people who did not enroll
]
HIDDEN_PHOTO_COUNT = 2
# "4 photos" on a page, "photo_count": 4 or "count": 4 in the API.
COUNT_PATTERN = re.compile(rb'(\d+) (?:photo|photos)\b|"(?:photo_)?count": ?(\d+)')


@pytest.fixture
def scene(jobs):
    """Hilda hides, Arthur shares, the event shows unidentified faces; Sam has an event of his own."""
    organizer = make_user("olivia")
    attendee = make_user("arthur")
    hidden = make_user("hilda")
    stranger = make_user("sam")
    hidden.email, hidden.first_name, hidden.last_name = "hilda@example.org", "Hildegard", "Vonwald"
    hidden.save()

    event = event_services.create_event(organizer, "Spring gala", "show")
    strangers_event = event_services.create_event(stranger, "Sam's picnic", "show")
    for person, sharing, selfie in ((attendee, Sharing.SHARE, ATTENDEE_SELFIE), (hidden, Sharing.HIDE, HIDDEN_SELFIE)):
        event_services.join_event(person, event.invite_code)
        account_services.give_consent(person, sharing)
        account_services.add_selfies(person, [upload_of(selfie)])
    event_services.upload_photos(event, organizer, [upload_of(path) for path in PHOTOS])
    jobs.run_all()

    live_link = event_services.create_share_link(event, organizer, None)
    revoked_link = event_services.create_share_link(event, organizer, 7)
    event_services.revoke_share_link(revoked_link, organizer)

    hidden_faces = Face.objects.filter(identity=hidden)
    hidden_photo_ids = {str(photo_id) for photo_id in hidden_faces.values_list("photo_id", flat=True)}
    assert len(hidden_photo_ids) == HIDDEN_PHOTO_COUNT
    assert Photo.objects.filter(event=event, status=JobStatus.DONE).count() == len(PHOTOS)
    return {
        "roles": {"anonymous": None, "stranger": stranger, "attendee": attendee, "organizer": organizer},
        "hidden": hidden,
        "events": [event, strangers_event],
        "links": [live_link, revoked_link],
        "hidden_photo_ids": hidden_photo_ids,
        "hidden_face_ids": {str(face_id) for face_id in hidden_faces.values_list("id", flat=True)},
        "hidden_selfie_ids": {str(selfie_id) for selfie_id in hidden.selfies.values_list("id", flat=True)},
        "hidden_embeddings": [
            vector for pair in hidden.selfies.values_list("embedding", "flipped_embedding") for vector in pair
        ],
    }


def routes(resolver=None, namespace="", prefix="/"):
    """Yield (name, parameter names, route text) for every route of the URL conf; unnamed routes have no name."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern, inner, text)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield name, sorted(pattern.pattern.regex.groupindex), text


def parameter_values(scene, every_kind: bool = True) -> dict[str, list[str]]:
    """Return the values to try for each route parameter.

    With every_kind, an id parameter gets every id of every kind. Without it,
    only the ids of its own kind, because that is enough for the POST pass.
    """

    def ids(*models) -> list[str]:
        return [str(value) for model in models for value in model.objects.values_list("id", flat=True)]

    every_id = ids(Event, Photo, Face, Selfie, FaceCluster, ShareLink)
    every_id += [str(person.id) for person in (*filter(None, scene["roles"].values()), scene["hidden"])]
    return {
        "event_id": every_id if every_kind else ids(Event),
        "photo_id": every_id if every_kind else ids(Photo),
        "selfie_id": every_id if every_kind else ids(Selfie),
        "link_id": every_id if every_kind else ids(ShareLink),
        "size": ["thumb", "large", "original"] if every_kind else ["thumb"],
        "invite_code": [event.invite_code for event in scene["events"]],
        "token": [link.token for link in scene["links"]],
    }


# The admin needs staff status, which no role here has: one value per parameter
# shows that each admin route turns them away.
ADMIN_VALUES = {
    "app_label": "events",
    "object_id": "1",
    "id": "1",
    "content_type_id": "1",
    "url": "x",
    "model_name": "event",
}


def urls_to_request(scene, every_kind: bool = True) -> list[str]:
    values = parameter_values(scene, every_kind)
    urls = []
    for name, parameters, text in routes():
        if name is None:
            # Only the admin has unnamed routes: redirects to an object's change page.
            assert text.startswith("/admin/"), f"Name the route {text} so that this test can request it."
            urls.append(_fill_admin_route(text))
            continue
        if name.startswith("admin:"):
            urls.append(reverse(name, kwargs={parameter: ADMIN_VALUES[parameter] for parameter in parameters}))
            continue

        missing = [parameter for parameter in parameters if parameter not in values]
        assert not missing, f"Add test values for the parameters {missing} of the route {name}."
        for combination in product(*(values[parameter] for parameter in parameters)):
            urls.append(reverse(name, kwargs=dict(zip(parameters, combination, strict=True))))
    return urls


def _fill_admin_route(text: str) -> str:
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: ADMIN_VALUES[match[1]], text).replace("$", "")
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: ADMIN_VALUES[match[1]], text)


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


class Inspector:
    """Finds what would reveal the hidden person in a response body."""

    def __init__(self, scene) -> None:
        hidden = scene["hidden"]
        words = [hidden.username, hidden.email, hidden.first_name, hidden.last_name, str(hidden.id)]
        words += [*scene["hidden_photo_ids"], *scene["hidden_face_ids"], *scene["hidden_selfie_ids"]]
        self.words = [word.encode() for word in words]
        self.embeddings = np.stack(scene["hidden_embeddings"])
        self.visible_to_others = len(PHOTOS) - HIDDEN_PHOTO_COUNT
        self._image_verdicts: dict[str, bool] = {}

    def leaks(self, content_type: str, body: bytes, url: str = "") -> list[str]:
        # A page that repeats the requested address (a 404, a login's "next") reveals nothing new.
        for echoed in (url, quote(url, safe="")):
            if echoed:
                body = body.replace(echoed.encode(), b"")

        if content_type.startswith("image/"):
            return ["an image of her face"] if self.shows_face(body) else []
        if content_type == "application/zip":
            return self.zip_leaks(body)

        found = [word.decode() for word in self.words if word.lower() in body.lower()]
        counts = [int(page or api) for page, api in COUNT_PATTERN.findall(body)]
        found += [f"a count of {count} photos" for count in counts if count > self.visible_to_others]
        return found

    def zip_leaks(self, body: bytes) -> list[str]:
        found = []
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for member in archive.namelist():
                data = archive.read(member)
                kind = "image/jpeg" if member.lower().endswith((".jpg", ".jpeg", ".png")) else "text/plain"
                found += [f"{member}: {leak}" for leak in self.leaks(kind, data)]
        return found

    def shows_face(self, body: bytes) -> bool:
        key = hashlib.sha256(body).hexdigest()
        if key not in self._image_verdicts:
            image = load_image_array(body, name="response.jpg", max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS)
            faces = recognition_services.pipeline().analyze(image)
            distances = [np.linalg.norm(self.embeddings - face.embedding, axis=1).min() for face in faces]
            self._image_verdicts[key] = any(distance < settings.FACEGATE_UNCERTAIN_THRESHOLD for distance in distances)
        return self._image_verdicts[key]


def ask_everything(client, user, urls, inspector) -> tuple[dict[str, list[str]], int]:
    """Request every URL as the user; return the leaks by URL and how many responses carried an image."""
    client.logout()
    if user is not None:
        client.force_login(user)

    leaks, images = {}, 0
    for url in urls:
        response = client.get(url)
        content_type = response.get("Content-Type", "")
        body = body_of(response)
        images += content_type.startswith("image/")
        found = inspector.leaks(content_type, body, url)
        if found:
            leaks[url] = found
    return leaks, images


@pytest.mark.django_db(transaction=True)
def test_no_door_reveals_the_hidden_person(client, scene):
    urls = urls_to_request(scene)
    inspector = Inspector(scene)

    leaks_by_role = {}
    images_by_role = {}
    for role, user in scene["roles"].items():
        leaks_by_role[role], images_by_role[role] = ask_everything(client, user, urls, inspector)
    own_leaks, own_images = ask_everything(client, scene["hidden"], urls, inspector)

    assert leaks_by_role == {"anonymous": {}, "stranger": {}, "attendee": {}, "organizer": {}}
    # The same checks find her in her own responses, so they can find a leak.
    assert any("an image of her face" in found for found in own_leaks.values())
    assert any("hilda" in found for found in own_leaks.values())
    # The other members and the share link did see photos, so the checks ran on images.
    assert images_by_role["attendee"] > 0
    assert images_by_role["organizer"] > 0
    assert images_by_role["anonymous"] > 0
    assert len(urls) > 100


def hidden_state(hidden) -> dict:
    """Everything about the hidden person that another user's request must not change."""
    return {
        "account": list(
            User.objects.filter(id=hidden.id).values_list("default_sharing", "biometric_consent_at", "is_active")
        ),
        "selfies": sorted(map(str, Selfie.objects.filter(user=hidden).values_list("id", flat=True))),
        "memberships": sorted(
            (str(event_id), str(sharing))
            for event_id, sharing in Membership.objects.filter(user=hidden).values_list("event_id", "sharing")
        ),
        "matched faces": Face.objects.filter(identity=hidden).count(),
        "floors": sorted(Face.objects.exclude(sharing_floor="").values_list("sharing_floor", flat=True)),
    }


def post_everything(client, user, urls, inspector, hidden, may_change=frozenset()) -> dict[str, list[str]]:
    """POST an empty form to every URL as the user, each in a transaction rolled back afterwards.

    Returns the leaks by URL: in the response, in the messages it leaves, or a
    change to the hidden person's account, selfies, choices or faces, except
    through the URLs of may_change.
    """
    before = hidden_state(hidden)
    leaks = {}
    for url in urls:
        with transaction.atomic():
            client.logout()
            if user is not None:
                client.force_login(user)
            response = client.post(url)

            found = inspector.leaks(response.get("Content-Type", ""), body_of(response), url)
            messages = response.cookies.get("messages")
            if messages is not None:
                found += inspector.leaks("text/plain", unquote(messages.value).encode(), url)
            if url not in may_change and hidden_state(hidden) != before:
                found.append("a change to her data")
            transaction.set_rollback(True)
        if found:
            leaks[url] = found
    return leaks


@pytest.mark.django_db(transaction=True)
def test_no_post_reveals_or_changes_the_hidden_person(client, scene):
    urls = [url for url in urls_to_request(scene, every_kind=False) if not url.startswith("/admin/")]
    inspector = Inspector(scene)

    # The organizer may delete the event, directly or with their account, and everything in it goes with it.
    event = scene["events"][0]
    organizer_deletes = {reverse("events:delete", args=[event.id]), reverse("accounts:delete_account")}
    leaks_by_role = {
        role: post_everything(
            client, user, urls, inspector, scene["hidden"], organizer_deletes if role == "organizer" else frozenset()
        )
        for role, user in scene["roles"].items()
    }
    own_leaks = post_everything(client, scene["hidden"], urls, inspector, scene["hidden"])

    assert leaks_by_role == {"anonymous": {}, "stranger": {}, "attendee": {}, "organizer": {}}
    # Her own withdrawal, for one, changes her data: the check can fail.
    assert "a change to her data" in own_leaks[reverse("accounts:withdraw_consent")]

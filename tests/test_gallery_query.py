"""The gallery query against a plain model of the consent rule, and its cost.

Hypothesis builds events in the database with random people, choices, photos
and faces. For every viewer, the photos that visible_photo_queryset returns
and the faces that photo_rendition blurs must be those the model expects.
"""

import uuid
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Sharing, User
from events.models import Event, JobStatus, Membership, Photo, Role, UnknownFacePolicy
from events.visibility import EventAccess, event_access, photo_rendition, photos_with_faces, visible_photo_queryset
from recognition.schemas import Box, Decision
from tests.conftest import make_face_row, make_user, upload_of

MEMBER_COUNT = 4
# Index MEMBER_COUNT is a user who is not a member; MEMBER_COUNT + 1 is an id that is nobody's.
OUTSIDER = MEMBER_COUNT
UNKNOWN_ID = MEMBER_COUNT + 1
PERSON = st.integers(min_value=0, max_value=UNKNOWN_ID)


@dataclass
class FaceSpec:
    status: str
    identity: int | None
    plausible: list[int]
    linked: list[int]
    floor: str


@dataclass
class PhotoSpec:
    status: str
    uploader: int
    faces: list[FaceSpec] = field(default_factory=list)


face_specs = st.builds(
    FaceSpec,
    status=st.sampled_from([Decision.MATCHED.value, Decision.UNKNOWN.value, Decision.UNCERTAIN.value, "garbage"]),
    identity=st.one_of(st.none(), st.integers(min_value=0, max_value=OUTSIDER)),
    plausible=st.lists(PERSON, max_size=3),
    linked=st.lists(PERSON, max_size=2),
    floor=st.sampled_from(["", "", Sharing.BLUR, Sharing.HIDE, "garbage"]),
)
photo_specs = st.builds(
    PhotoSpec,
    status=st.sampled_from([JobStatus.DONE, JobStatus.DONE, JobStatus.DONE, JobStatus.PENDING, JobStatus.FAILED]),
    uploader=st.integers(min_value=0, max_value=MEMBER_COUNT - 1),
    faces=st.lists(face_specs, max_size=4),
)
# None: the member keeps their default choice.
event_choices = st.lists(st.sampled_from([None, *Sharing.values]), min_size=MEMBER_COUNT, max_size=MEMBER_COUNT)
default_choices = st.lists(st.sampled_from(Sharing.values), min_size=MEMBER_COUNT, max_size=MEMBER_COUNT)


def expected_view(viewer: int | None, photo: PhotoSpec, choices: dict[int, str], policy: str, pending: bool):
    """The rule, written plainly: None when the viewer may not see the photo, else the indexes of faces to blur."""
    if photo.status != JobStatus.DONE:
        return [] if viewer == photo.uploader else None

    blurred = []
    for index, face in enumerate(photo.faces):
        people = set(face.plausible) | set(face.linked)
        named = face.status == Decision.MATCHED and face.identity is not None
        if face.identity is not None:
            people.add(face.identity)
        people.discard(viewer)

        wishes = [choices.get(person, Sharing.HIDE) for person in people]
        if not named:
            unidentified = {UnknownFacePolicy.SHOW: Sharing.SHARE, UnknownFacePolicy.BLUR: Sharing.BLUR}
            wishes.append(Sharing.HIDE if pending else unidentified.get(policy, Sharing.HIDE))
        if face.floor:
            wishes.append(face.floor)

        if any(wish not in (Sharing.SHARE, Sharing.BLUR) for wish in wishes):
            return None
        if Sharing.BLUR in wishes:
            blurred.append(index)
    return blurred


def _create_event(defaults, event_choices, policy, pending, photo_specs):
    tag = uuid.uuid4().hex[:8]
    people = [
        User.objects.create(username=f"p{index}-{tag}", default_sharing=defaults[index % MEMBER_COUNT])
        for index in range(MEMBER_COUNT + 1)
    ]
    ids = [str(person.id) for person in people] + [str(uuid.uuid4())]
    event = Event.objects.create(
        name="Property", created_by=people[0], unknown_face_policy=policy, reclassification_requested_at=None
    )
    if pending:
        Event.objects.filter(id=event.id).update(reclassification_requested_at="2026-01-01T00:00:00Z")
        event.refresh_from_db()
    for index in range(MEMBER_COUNT):
        role = Role.ORGANIZER if index == 0 else Role.ATTENDEE
        Membership.objects.create(event=event, user=people[index], role=role, sharing=event_choices[index])

    photos = []
    for number, spec in enumerate(photo_specs):
        photo = Photo.objects.create(
            event=event,
            uploaded_by=people[spec.uploader],
            file=f"photos/{event.id}/{number}.jpg",
            original_name=f"{number}.jpg",
            checksum=f"{tag}{number:056d}",
            status=spec.status,
        )
        for index, face in enumerate(spec.faces):
            make_face_row(
                photo,
                index,
                size=50,
                status=face.status,
                identity=None if face.identity is None else people[face.identity],
                plausible_identities=[ids[person] for person in face.plausible],
                linked_identities=[ids[person] for person in face.linked],
                sharing_floor=face.floor,
            )
        photos.append(photo)
    return event, people, photos


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    defaults=default_choices,
    choices=event_choices,
    policy=st.sampled_from(UnknownFacePolicy.values),
    pending=st.booleans(),
    specs=st.lists(photo_specs, min_size=1, max_size=5),
)
def test_gallery_query_matches_the_rule(defaults, choices, policy, pending, specs):
    # Only a matched face has an identity in the database.
    for spec in specs:
        for face in spec.faces:
            if face.status != Decision.MATCHED:
                face.identity = None

    with transaction.atomic():
        event, people, photos = _create_event(defaults, choices, policy, pending, specs)
        effective = {index: choices[index] or defaults[index] for index in range(MEMBER_COUNT)}

        viewers = [event_access(people[index], event.id) for index in range(MEMBER_COUNT)]
        viewers.append(EventAccess(event, None, None, viewers[0].sharing_by_user_id))
        for position, access in enumerate(viewers):
            viewer = position if position < MEMBER_COUNT else None
            expected = {
                photo.id: expected_view(viewer, spec, effective, policy, pending)
                for photo, spec in zip(photos, specs, strict=True)
            }

            returned = photos_with_faces(visible_photo_queryset(access))
            renditions = {photo.id: photo_rendition(access, photo) for photo in returned}

            assert set(renditions) == {photo_id for photo_id, view in expected.items() if view is not None}
            assert None not in renditions.values()
            for photo in photos:
                if photo.id in renditions:
                    boxes = [Box(index * 100, 0, 50, 50) for index in expected[photo.id]]
                    assert sorted(renditions[photo.id].blurred_boxes, key=lambda box: box.x) == boxes

        transaction.set_rollback(True)


def _gallery_event(organizer, photo_count: int) -> Event:
    """An event with photo_count processed photos: a third show a hider, the rest a sharer and a stranger."""
    event = Event.objects.create(name=f"{photo_count} photos", created_by=organizer, unknown_face_policy="blur")
    Membership.objects.create(event=event, user=organizer, role=Role.ORGANIZER)
    sharer = make_user(f"sharer-{photo_count}", Sharing.SHARE)
    hider = make_user(f"hider-{photo_count}", Sharing.HIDE)
    for person in (sharer, hider):
        Membership.objects.create(event=event, user=person)

    stored = Photo(event=event, uploaded_by=organizer, original_name="group.jpg", checksum="0" * 64)
    stored.file.save("group.jpg", upload_of("group/fnp_multiface.jpg"), save=False)
    for number in range(photo_count):
        photo = Photo.objects.create(
            event=event,
            uploaded_by=organizer,
            file=stored.file.name,
            original_name=f"{number}.jpg",
            checksum=f"{number:064d}",
            status=JobStatus.DONE,
        )
        person = hider if number % 3 == 0 else sharer
        for index, identity in enumerate([person, None]):
            make_face_row(
                photo,
                index,
                status=Decision.MATCHED if identity else Decision.UNKNOWN,
                identity=identity,
                plausible_identities=[str(identity.id)] if identity else [],
            )
    return event


def _gallery_queries(client, event, route="events:gallery") -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(route, args=[event.id]))
    assert response.status_code == 200
    return len(queries), response.content


@pytest.mark.django_db
def test_gallery_query_count_constant(client, organizer):
    small = _gallery_event(organizer, 10)
    large = _gallery_event(organizer, 200)
    client.force_login(organizer)
    _gallery_queries(client, small)  # The session and the translations load once.

    small_queries, small_page = _gallery_queries(client, small)
    large_queries, large_page = _gallery_queries(client, large)

    assert small_queries == large_queries
    # 10 photos minus the 4 with the hider; 200 minus 67.
    assert b"6 photos" in small_page
    assert b"133 photos" in large_page
    assert large_page.count(b'class="gallery"') == 1


@pytest.mark.django_db
def test_api_query_count_constant(client, organizer):
    small = _gallery_event(organizer, 10)
    large = _gallery_event(organizer, 200)
    client.force_login(organizer)
    _gallery_queries(client, small, "api:event_photos")

    small_queries, small_page = _gallery_queries(client, small, "api:event_photos")
    large_queries, large_page = _gallery_queries(client, large, "api:event_photos")

    assert small_queries == large_queries
    assert b'"count":6' in small_page
    assert b'"count":133' in large_page

"""The consent rule alone, on every combination of faces, choices and policies.

photo_rendition only reads attributes, so these tests hand it unsaved faces
and light stand-ins for the other rows, and let Hypothesis generate the
combinations.
"""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from hypothesis import example, given
from hypothesis import strategies as st

from accounts.models import Sharing
from events.models import JobStatus, UnknownFacePolicy
from events.visibility import EventAccess, photo_rendition
from recognition.models import Face
from recognition.schemas import Decision

MEMBERS = [uuid.UUID(int=number) for number in range(1, 5)]
OUTSIDER = uuid.UUID(int=99)
EVENT_ID = uuid.UUID(int=1000)


class Faces(list):
    def all(self):
        return self


def make_face(status: str, identity, index: int, plausible=(), floor="", linked=()):
    return Face(
        status=status,
        identity_id=identity,
        plausible_identities=[str(user_id) for user_id in plausible],
        linked_identities=[str(user_id) for user_id in linked],
        sharing_floor=floor,
        box_x=index * 10,
        box_y=0,
        box_width=10,
        box_height=10,
    )


def make_photo(faces, status=JobStatus.DONE, uploader=MEMBERS[0], event_id=EVENT_ID):
    return SimpleNamespace(event_id=event_id, status=status, uploaded_by_id=uploader, faces=Faces(faces))


def make_access(viewer, sharing: dict, policy: str, pending: bool = False):
    requested_at = datetime(2026, 1, 1, tzinfo=UTC) if pending else None
    event = SimpleNamespace(id=EVENT_ID, unknown_face_policy=policy, reclassification_requested_at=requested_at)
    membership = SimpleNamespace(is_organizer=False)
    return EventAccess(
        event, SimpleNamespace(id=viewer), membership, {str(key): value for key, value in sharing.items()}
    )


plausible_sets = st.lists(st.sampled_from(MEMBERS + [OUTSIDER]), max_size=3)
floors = st.sampled_from(["", Sharing.BLUR, Sharing.HIDE, "garbage"])
face_specs = st.lists(
    st.one_of(
        st.tuples(
            st.just(Decision.MATCHED.value),
            st.sampled_from(MEMBERS + [OUTSIDER]),
            plausible_sets,
            floors,
            plausible_sets,
        ),
        st.tuples(
            st.sampled_from([Decision.UNKNOWN.value, Decision.UNCERTAIN.value, "garbage"]),
            st.none(),
            plausible_sets,
            floors,
            plausible_sets,
        ),
    ),
    max_size=5,
)
choices = st.sampled_from([*Sharing.values, "garbage"])


@given(
    specs=face_specs,
    sharing=st.dictionaries(st.sampled_from(MEMBERS), choices),
    policy=st.sampled_from([*UnknownFacePolicy.values, "garbage"]),
    viewer=st.sampled_from(MEMBERS),
    pending=st.booleans(),
)
# A member who hides is linked by a reviewer to a face matched to a member who
# shares: random search rarely builds this case.
@example(
    specs=[(Decision.MATCHED.value, MEMBERS[1], [], "", [MEMBERS[2]])],
    sharing={MEMBERS[1]: Sharing.SHARE, MEMBERS[2]: Sharing.HIDE},
    policy=UnknownFacePolicy.SHOW,
    viewer=MEMBERS[0],
    pending=False,
)
def test_rendition_respects_every_face(specs, sharing, policy, viewer, pending):
    faces = [
        make_face(status, identity, index, plausible, floor, linked)
        for index, (status, identity, plausible, floor, linked) in enumerate(specs)
    ]

    rendition = photo_rendition(make_access(viewer, sharing, policy, pending), make_photo(faces))

    # Work out, face by face and person by person, what each requires of the photo.
    must_hide = False
    must_blur = []
    for face in faces:
        choices = []
        people = {uuid.UUID(user_id) for user_id in face.plausible_identities + face.linked_identities}
        if face.status == Decision.MATCHED:
            people.add(face.identity_id)
        else:
            policy_choice = {"show": Sharing.SHARE, "blur": Sharing.BLUR}.get(policy)
            choices.append(Sharing.HIDE if pending else policy_choice)
        choices += [sharing.get(person) for person in people if person != viewer]
        if face.sharing_floor:
            choices.append(face.sharing_floor)

        if any(choice not in (Sharing.SHARE, Sharing.BLUR) for choice in choices):
            must_hide = True
        elif Sharing.BLUR in choices:
            must_blur.append(face.box)

    if must_hide:
        assert rendition is None
    else:
        assert rendition is not None
        assert list(rendition.blurred_boxes) == must_blur


@given(status=st.sampled_from([JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED, "garbage"]))
def test_unfinished_photo_only_for_uploader(status):
    photo = make_photo([], status=status, uploader=MEMBERS[0])

    assert photo_rendition(make_access(MEMBERS[0], {}, "show"), photo) is not None
    assert photo_rendition(make_access(MEMBERS[1], {}, "show"), photo) is None


def test_uncertain_face_never_counts_as_viewer():
    # An uncertain face whose best candidate is the viewer stays unidentified.
    face = make_face(Decision.UNCERTAIN.value, None, 0, plausible=[MEMBERS[1]])

    rendition = photo_rendition(make_access(MEMBERS[1], {}, UnknownFacePolicy.HOLD), make_photo([face]))

    assert rendition is None


def test_uncertain_face_follows_candidate_who_hides():
    face = make_face(Decision.UNCERTAIN.value, None, 0, plausible=[MEMBERS[2]])
    access = make_access(MEMBERS[1], {MEMBERS[2]: Sharing.HIDE}, UnknownFacePolicy.SHOW)

    assert photo_rendition(access, make_photo([face])) is None


def test_matched_look_alike_cannot_unveil_hider():
    # A member enrolled a copy of another member's portrait: the face matches
    # both, and the one who hides wins.
    face = make_face(Decision.MATCHED.value, MEMBERS[1], 0, plausible=[MEMBERS[1], MEMBERS[2]])
    access = make_access(MEMBERS[3], {MEMBERS[1]: Sharing.SHARE, MEMBERS[2]: Sharing.HIDE}, UnknownFacePolicy.SHOW)

    assert photo_rendition(access, make_photo([face])) is None


def test_pending_reclassification_holds_unidentified():
    face = make_face(Decision.UNKNOWN.value, None, 0)

    shown = photo_rendition(make_access(MEMBERS[1], {}, UnknownFacePolicy.SHOW), make_photo([face]))
    held = photo_rendition(make_access(MEMBERS[1], {}, UnknownFacePolicy.SHOW, pending=True), make_photo([face]))

    assert shown is not None
    assert held is None


def test_photo_of_other_event_refused():
    photo = make_photo([], event_id=uuid.UUID(int=2000))

    assert photo_rendition(make_access(MEMBERS[0], {}, "show"), photo) is None


def test_linked_hider_hides_matched_face():
    # A reviewer linked the face's cluster to a member who hides, before the
    # face was matched to a member who shares.
    face = make_face(Decision.MATCHED.value, MEMBERS[1], 0, plausible=[MEMBERS[1]], linked=[MEMBERS[2]])
    access = make_access(MEMBERS[3], {MEMBERS[1]: Sharing.SHARE, MEMBERS[2]: Sharing.HIDE}, UnknownFacePolicy.SHOW)
    linked_viewer = make_access(MEMBERS[2], {MEMBERS[1]: Sharing.SHARE, MEMBERS[2]: Sharing.HIDE}, "show")

    assert photo_rendition(access, make_photo([face])) is None
    assert photo_rendition(linked_viewer, make_photo([face])) is not None


def test_member_without_choice_hidden():
    face = make_face(Decision.MATCHED.value, MEMBERS[2], 0)

    assert photo_rendition(make_access(MEMBERS[1], {}, "show"), make_photo([face])) is None

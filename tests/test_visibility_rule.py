"""The consent rule alone, on every combination of faces, choices and policies.

photo_rendition only reads attributes, so these tests hand it light stand-ins
for the rows and let Hypothesis generate the combinations.
"""

import uuid
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Sharing
from events.models import JobStatus, UnknownFacePolicy
from events.visibility import EventAccess, photo_rendition
from recognition.schemas import Box, Decision

MEMBERS = [uuid.UUID(int=number) for number in range(1, 5)]
OUTSIDER = uuid.UUID(int=99)
EVENT_ID = uuid.UUID(int=1000)


class Faces(list):
    def all(self):
        return self


def make_face(status: str, identity, index: int):
    return SimpleNamespace(status=status, identity_id=identity, box=Box(index * 10, 0, 10, 10))


def make_photo(faces, status=JobStatus.DONE, uploader=MEMBERS[0], event_id=EVENT_ID):
    return SimpleNamespace(event_id=event_id, status=status, uploaded_by_id=uploader, faces=Faces(faces))


def make_access(viewer, sharing: dict, policy: str):
    event = SimpleNamespace(id=EVENT_ID, unknown_face_policy=policy)
    membership = SimpleNamespace(is_organizer=False)
    return EventAccess(
        event, SimpleNamespace(id=viewer), membership, {str(key): value for key, value in sharing.items()}
    )


face_specs = st.lists(
    st.one_of(
        st.tuples(st.just(Decision.MATCHED.value), st.sampled_from(MEMBERS + [OUTSIDER])),
        st.tuples(st.sampled_from([Decision.UNKNOWN.value, Decision.UNCERTAIN.value, "garbage"]), st.none()),
    ),
    max_size=5,
)
choices = st.sampled_from([*Sharing.values, "garbage"])


@given(
    specs=face_specs,
    sharing=st.dictionaries(st.sampled_from(MEMBERS), choices),
    policy=st.sampled_from([*UnknownFacePolicy.values, "garbage"]),
    viewer=st.sampled_from(MEMBERS),
)
def test_rendition_respects_every_face(specs, sharing, policy, viewer):
    faces = [make_face(status, identity, index) for index, (status, identity) in enumerate(specs)]

    rendition = photo_rendition(make_access(viewer, sharing, policy), make_photo(faces))

    # Work out, face by face, what each face requires of the photo.
    must_hide = False
    must_blur = []
    for face in faces:
        if face.status == Decision.MATCHED and face.identity_id == viewer:
            continue
        if face.status == Decision.MATCHED:
            choice = sharing.get(face.identity_id)
        else:
            choice = {"show": Sharing.SHARE, "blur": Sharing.BLUR}.get(policy)
        if choice == Sharing.BLUR:
            must_blur.append(face.box)
        elif choice != Sharing.SHARE:
            must_hide = True

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
    face = SimpleNamespace(
        status=Decision.UNCERTAIN.value, identity_id=None, candidate_id=MEMBERS[1], box=Box(0, 0, 9, 9)
    )

    rendition = photo_rendition(make_access(MEMBERS[1], {}, UnknownFacePolicy.HOLD), make_photo([face]))

    assert rendition is None


def test_photo_of_other_event_refused():
    photo = make_photo([], event_id=uuid.UUID(int=2000))

    assert photo_rendition(make_access(MEMBERS[0], {}, "show"), photo) is None


def test_member_without_choice_hidden():
    face = make_face(Decision.MATCHED.value, MEMBERS[2], 0)

    assert photo_rendition(make_access(MEMBERS[1], {}, "show"), make_photo([face])) is None

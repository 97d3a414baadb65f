"""Clusters of unidentified faces on real photos, through the real pipeline and jobs.

brad_pitt, who never enrolls, appears in two group photos beside
angelina_jolie, who enrolls only after the photos are processed. Two
distractor photos add strangers.
"""

from dataclasses import dataclass

import numpy as np
import pytest

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, Photo
from events.visibility import event_access, photo_rendition
from recognition import clustering, services
from recognition.clusters import ClusterError, merge_clusters, name_cluster, split_cluster
from recognition.models import Face, FaceCluster
from recognition.schemas import Decision
from tests.conftest import JobRecorder, make_user, manifest, upload_of

COUPLE = "group/df_couple.jpg"
SELFIE = "group/df_selfie-many-people.jpg"
KATE = "distractors/fnp_kate_siegel_1.jpg"
PAUL = "distractors/fnp_paul_rudd_1.jpg"

# A pixel inside each known face, in the upright image, found by looking at the photos.
BRAD_PITT_AT = {COUPLE: (1690, 690), SELFIE: (417, 205)}
ANGELINA_JOLIE_AT = {COUPLE: (660, 900), SELFIE: (146, 367)}


@dataclass
class Party:
    event: Event
    angelina: User
    hider: User
    photos: dict[str, Photo]
    clusters_before_enrollment: dict[str, str | None]
    """Cluster id by face id, after the photos were processed and before angelina_jolie enrolled."""

    def face_at(self, relative_path: str, point: tuple[int, int]) -> Face:
        x, y = point
        faces = [
            face
            for face in Face.objects.filter(photo=self.photos[relative_path])
            if face.box_x <= x < face.box_x + face.box_width and face.box_y <= y < face.box_y + face.box_height
        ]
        assert len(faces) == 1, f"{len(faces)} faces at {point} in {relative_path}"
        return faces[0]

    def brad_pitt(self) -> list[Face]:
        return [self.face_at(path, point) for path, point in BRAD_PITT_AT.items()]

    def angelina_jolie(self) -> list[Face]:
        return [self.face_at(path, point) for path, point in ANGELINA_JOLIE_AT.items()]


@pytest.fixture(scope="module")
def party(django_db_setup, django_db_blocker):
    enrol_paths = [row.relative_path for row in manifest() if row.split == "enrol" and row.identity == "angelina_jolie"]

    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        recorder = JobRecorder()
        patch.setattr("recognition.queue.send", recorder)

        organizer = make_user("clu-organizer")
        event = event_services.create_event(organizer, "Premiere", "show")
        angelina = make_user("clu-angelina", Sharing.SHARE)
        account_services.give_consent(angelina, Sharing.SHARE)
        event_services.join_event(angelina, event.invite_code)
        hider = make_user("clu-hider", Sharing.HIDE)
        event_services.join_event(hider, event.invite_code)

        paths = [COUPLE, SELFIE, KATE, PAUL]
        result = event_services.upload_photos(event, organizer, [upload_of(path) for path in paths])
        assert result.problems == []
        recorder.run_all()
        before = {str(face_id): cluster_id for face_id, cluster_id in _cluster_ids(event)}

        selfies, problems = account_services.add_selfies(angelina, [upload_of(path) for path in enrol_paths])
        assert problems == []
        recorder.run_all()

        photos = dict(zip(paths, result.photos, strict=True))
        yield Party(event, angelina, hider, photos, {key: _str(value) for key, value in before.items()})

        Event.objects.filter(id=event.id).delete()
        User.objects.filter(username__startswith="clu-").delete()


def _cluster_ids(event: Event):
    return Face.objects.filter(photo__event=event).values_list("id", "cluster_id")


def _str(value) -> str | None:
    return None if value is None else str(value)


@pytest.mark.django_db
def test_photos_cluster_brad_pitt_together(party):
    first, second = party.brad_pitt()
    cluster_id = party.clusters_before_enrollment[str(first.id)]
    members = [face_id for face_id, cluster in party.clusters_before_enrollment.items() if cluster == cluster_id]

    assert cluster_id is not None
    assert party.clusters_before_enrollment[str(second.id)] == cluster_id
    assert sorted(members) == sorted([str(first.id), str(second.id)])


@pytest.mark.django_db
def test_rebuild_keeps_brad_pitt_together(party):
    first, second = party.brad_pitt()

    assert first.status != Decision.MATCHED
    assert first.cluster_id is not None
    assert second.cluster_id == first.cluster_id
    assert first.cluster.faces.count() == 2


@pytest.mark.django_db
def test_matched_faces_leave_their_cluster(party):
    faces = party.angelina_jolie()
    cluster_before = party.clusters_before_enrollment[str(faces[0].id)]

    assert cluster_before is not None
    assert party.clusters_before_enrollment[str(faces[1].id)] == cluster_before
    for face in faces:
        assert face.identity_id == party.angelina.id
        assert face.cluster_id is None
    assert not FaceCluster.objects.filter(id=cluster_before).exists()


@pytest.mark.django_db
def test_only_unmatched_faces_clustered(party):
    faces = list(Face.objects.filter(photo__event=party.event))
    unmatched = [face for face in faces if face.status != Decision.MATCHED]

    assert len(unmatched) >= 7
    assert [face.id for face in unmatched if face.cluster_id is None] == []
    assert [face.id for face in faces if face.status == Decision.MATCHED and face.cluster_id is not None] == []
    assert not FaceCluster.objects.filter(event=party.event, faces__isnull=True).exists()


@pytest.mark.django_db
def test_faces_of_one_photo_never_share_cluster(party):
    clustered = Face.objects.filter(photo__event=party.event, cluster__isnull=False)
    pairs = list(clustered.values_list("photo_id", "cluster_id"))

    assert len(pairs) == len(set(pairs))


@pytest.mark.django_db
def test_merge_moves_faces_and_deletes_others(party):
    kate = Face.objects.get(photo=party.photos[KATE]).cluster
    paul = Face.objects.get(photo=party.photos[PAUL]).cluster
    name_cluster(paul, "Paul")

    merged = merge_clusters(kate, [paul])

    assert merged.faces.count() == 2
    assert merged.label == "Paul"
    assert merged.reviewed_at is not None
    assert not FaceCluster.objects.filter(id=paul.id).exists()


@pytest.mark.django_db
def test_merge_gives_link_to_all_faces(party):
    kate = Face.objects.get(photo=party.photos[KATE]).cluster
    paul = Face.objects.get(photo=party.photos[PAUL]).cluster
    name_cluster(paul, "Paul", person=party.hider)

    merge_clusters(kate, [paul])

    kate.refresh_from_db()
    assert kate.person_id == party.hider.id
    for face in Face.objects.filter(photo__in=[party.photos[KATE], party.photos[PAUL]]):
        assert face.cluster_id == kate.id
        assert face.linked_identities == [str(party.hider.id)]


@pytest.mark.django_db
def test_merge_rejects_other_event(party, organizer):
    other_event = event_services.create_event(organizer, "Elsewhere", "show")
    foreign = FaceCluster.objects.create(event=other_event)
    kate = Face.objects.get(photo=party.photos[KATE]).cluster

    with pytest.raises(ClusterError, match="another event"):
        merge_clusters(kate, [foreign])
    with pytest.raises(ClusterError, match="into itself"):
        merge_clusters(kate, [kate])


@pytest.mark.django_db
def test_split_moves_given_faces(party):
    couple_face, selfie_face = party.brad_pitt()
    cluster = couple_face.cluster

    new_cluster = split_cluster(cluster, [str(selfie_face.id)])

    assert list(new_cluster.faces.values_list("id", flat=True)) == [selfie_face.id]
    assert list(cluster.faces.values_list("id", flat=True)) == [couple_face.id]
    assert new_cluster.event_id == party.event.id


@pytest.mark.django_db
def test_split_rejects_foreign_or_all_faces(party):
    couple_face, selfie_face = party.brad_pitt()
    kate_face = Face.objects.get(photo=party.photos[KATE])

    with pytest.raises(ClusterError, match="not in cluster"):
        split_cluster(couple_face.cluster, [kate_face.id])
    with pytest.raises(ClusterError, match="leave it empty"):
        split_cluster(couple_face.cluster, [couple_face.id, selfie_face.id])
    with pytest.raises(ClusterError, match="not a face id"):
        split_cluster(couple_face.cluster, ["face-1"])
    with pytest.raises(ClusterError, match="at least one face"):
        split_cluster(couple_face.cluster, [])


@pytest.mark.django_db
def test_linking_hider_withholds_photos(party):
    cluster = party.brad_pitt()[0].cluster
    photos = [Photo.objects.get(id=party.photos[path].id) for path in BRAD_PITT_AT]
    access = event_access(party.angelina, party.event.id)
    visible_before = [photo_rendition(access, photo) is not None for photo in photos]

    name_cluster(cluster, "  Brad  ", person=party.hider)

    access = event_access(party.angelina, party.event.id)
    hider_access = event_access(party.hider, party.event.id)
    assert visible_before == [True, True]
    assert cluster.label == "Brad"
    for face in party.brad_pitt():
        assert face.linked_identities == [str(party.hider.id)]
    for photo in photos:
        assert photo_rendition(access, photo) is None
        assert photo_rendition(hider_access, photo) is not None


@pytest.mark.django_db
def test_link_survives_reclassification(party):
    cluster = party.brad_pitt()[0].cluster
    name_cluster(cluster, "Brad", person=party.hider)

    services.reclassify_event(str(party.event.id))

    cluster.refresh_from_db()
    assert cluster.person_id == party.hider.id
    for face in party.brad_pitt():
        assert face.cluster_id == cluster.id
        assert face.linked_identities == [str(party.hider.id)]


@pytest.mark.django_db
def test_link_rejects_non_member(party, stranger):
    cluster = party.brad_pitt()[0].cluster

    with pytest.raises(ClusterError, match="not a member"):
        name_cluster(cluster, "Brad", person=stranger)

    cluster.refresh_from_db()
    assert cluster.person_id is None
    assert cluster.label == ""


@pytest.mark.django_db
def test_cluster_faces_on_real_embeddings(party):
    faces = list(Face.objects.filter(photo__event=party.event))
    by_id = {face.id: index for index, face in enumerate(faces)}
    brad = [by_id[face.id] for face in party.brad_pitt()]
    angelina = [by_id[face.id] for face in party.angelina_jolie()]
    embeddings = np.stack([face.embedding for face in faces])

    numbers = clustering.cluster_faces(embeddings, [face.photo_id for face in faces], 0.88)
    strict = clustering.cluster_faces(embeddings, [face.photo_id for face in faces], 0.5)

    assert numbers[brad[0]] == numbers[brad[1]]
    assert numbers[angelina[0]] == numbers[angelina[1]]
    assert numbers[brad[0]] != numbers[angelina[0]]
    assert len(set(strict)) == len(faces)


@pytest.mark.django_db
def test_cluster_faces_separates_same_photo(party):
    embedding = party.brad_pitt()[0].embedding
    twins = np.stack([embedding, embedding])
    same_photo = clustering.cluster_faces(twins, ["a", "a"], 0.88)

    assert same_photo[0] != same_photo[1]
    assert list(clustering.cluster_faces(twins, ["a", "b"], 0.88)) == [0, 0]
    assert list(clustering.cluster_faces(twins[:1], ["a"], 0.88)) == [0]
    with pytest.raises(ValueError, match="between 0 and 2"):
        clustering.cluster_faces(twins, ["a", "b"], 2.5)


@pytest.mark.django_db
def test_assign_to_clusters_on_real_embeddings(party):
    couple_brad, selfie_brad = party.brad_pitt()
    couple_angelina, _ = party.angelina_jolie()
    clusters = [np.stack([couple_angelina.embedding]), np.stack([couple_brad.embedding])]

    one = clustering.assign_to_clusters(np.stack([selfie_brad.embedding]), clusters, 0.88)
    two = clustering.assign_to_clusters(np.stack([selfie_brad.embedding, selfie_brad.embedding]), clusters, 0.88)
    strict = clustering.assign_to_clusters(np.stack([selfie_brad.embedding]), clusters, 0.5)
    empty = clustering.assign_to_clusters(np.stack([selfie_brad.embedding]), [], 0.88)

    assert one == [1]
    assert two == [1, None]
    assert strict == [None]
    assert empty == [None]


@pytest.mark.django_db
def test_assign_uses_farthest_member(party):
    couple_brad, selfie_brad = party.brad_pitt()
    couple_angelina, _ = party.angelina_jolie()
    # brad_pitt's selfie face is near one member but far from the other.
    mixed = [np.stack([couple_brad.embedding, couple_angelina.embedding])]

    assert clustering.assign_to_clusters(np.stack([selfie_brad.embedding]), mixed, 0.88) == [None]

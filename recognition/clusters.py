"""Clusters of the unidentified faces of an event, and the reviewer's actions on them.

Faces join clusters photo by photo as photos are processed, and a
re-classification rebuilds the clusters. A reviewer merges, splits and names
them. Only faces that are not matched belong to a cluster.

Privacy: linking a cluster to a person only ever adds that person to the
plausible identities of the cluster's faces, so that their sharing choice
applies through the consent rule (events.visibility). Nothing here removes a
plausible identity or changes a face's recognition status.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from events.models import Event, Membership, Photo
from recognition import clustering
from recognition.models import Face, FaceCluster
from recognition.schemas import Decision

logger = logging.getLogger(__name__)

LABEL_MAX_LENGTH = FaceCluster._meta.get_field("label").max_length


class ClusterError(ValueError):
    """A reviewer's request on clusters that cannot be carried out; the message says why."""


def assign_faces_to_clusters(photo: Photo) -> None:
    """Put each unidentified face of a processed photo into the nearest cluster of its event, or into a new one."""
    with transaction.atomic():
        # Two workers processing photos of one event at once would each start
        # a cluster for the same new person, so they take turns here.
        _lock_event(photo.event_id)
        faces = list(
            Face.objects.filter(photo=photo, cluster__isnull=True)
            .exclude(status=Decision.MATCHED)
            .only("id", "embedding", "plausible_identities")
        )
        if not faces:
            return

        members = _member_embeddings(photo.event_id, exclude_photo_id=photo.id)
        cluster_ids = list(members)
        choices = clustering.assign_to_clusters(
            np.stack([face.embedding for face in faces]),
            [np.stack(members[cluster_id]) for cluster_id in cluster_ids],
            settings.FACEGATE_CLUSTER_DISTANCE,
        )

        created = 0
        for face, choice in zip(faces, choices, strict=True):
            if choice is None:
                face.cluster = FaceCluster.objects.create(event_id=photo.event_id)
                created += 1
            else:
                face.cluster_id = cluster_ids[choice]
        Face.objects.bulk_update(faces, ["cluster"])
        _link_faces_to_cluster_people(Face.objects.filter(id__in=[face.id for face in faces]))
        # A retried or deleted photo can leave clusters without faces.
        FaceCluster.objects.filter(event_id=photo.event_id, faces__isnull=True).delete()

    logger.info(
        "Photo %s of event %s: %d faces clustered, %d in new clusters",
        photo.id,
        photo.event_id,
        len(faces),
        created,
    )


def recluster_event(event: Event) -> None:
    """Rebuild the event's clusters from its unidentified faces, keeping the clusters a reviewer worked on.

    Matched faces leave their clusters, and clusters left empty are deleted.
    The faces of reviewed clusters stay in them. Every other unidentified face
    is clustered again from scratch.
    """
    with transaction.atomic():
        _lock_event(event.id)
        event_faces = Face.objects.filter(photo__event_id=event.id)
        event_faces.filter(status=Decision.MATCHED, cluster__isnull=False).update(cluster=None)
        # The faces of the deleted clusters lose their cluster (SET_NULL).
        FaceCluster.objects.filter(event_id=event.id, reviewed_at__isnull=True).delete()

        # NOTE: a face is not offered to the reviewed clusters here, only to the
        # other loose faces, so it waits for a reviewer to merge it by hand.
        faces = list(
            event_faces.filter(cluster__isnull=True).exclude(status=Decision.MATCHED).only("id", "photo", "embedding")
        )
        if faces:
            numbers = clustering.cluster_faces(
                np.stack([face.embedding for face in faces]),
                [face.photo_id for face in faces],
                settings.FACEGATE_CLUSTER_DISTANCE,
            )
            clusters = [FaceCluster(event_id=event.id) for _ in range(int(numbers.max()) + 1)]
            FaceCluster.objects.bulk_create(clusters)
            for face, number in zip(faces, numbers, strict=True):
                face.cluster = clusters[number]
            Face.objects.bulk_update(faces, ["cluster"], batch_size=500)

        FaceCluster.objects.filter(event_id=event.id, faces__isnull=True).delete()
        _link_faces_to_cluster_people(event_faces)

    logger.info(
        "Event %s: %d loose faces re-clustered; %d clusters in all",
        event.id,
        len(faces),
        FaceCluster.objects.filter(event_id=event.id).count(),
    )


def cluster_links(event_id) -> dict[str, str]:
    """Return the id of the person each linked cluster of the event is linked to, by cluster id."""
    linked = FaceCluster.objects.filter(event_id=event_id, person__isnull=False).values_list("id", "person_id")
    return {str(cluster_id): str(person_id) for cluster_id, person_id in linked}


def keep_cluster_link(face: Face, links: dict[str, str]) -> None:
    """Add back to a re-classified face the person its cluster is linked to, from cluster_links."""
    person_id = links.get(str(face.cluster_id))
    if person_id is not None and person_id not in face.plausible_identities:
        face.plausible_identities = [*face.plausible_identities, person_id]


def merge_clusters(target: FaceCluster, others: Iterable[FaceCluster]) -> FaceCluster:
    """Move the faces of the other clusters into the target and delete the others; return the target.

    The target keeps its label and link, or takes them from the first other
    cluster that has one.
    """
    others = list(others)
    _check_mergeable(target, others)

    with transaction.atomic():
        _lock_event(target.event_id)
        other_ids = [cluster.id for cluster in others]
        Face.objects.filter(cluster_id__in=other_ids).update(cluster=target)
        target.label = target.label or next((cluster.label for cluster in others if cluster.label), "")
        target.person_id = target.person_id or next((c.person_id for c in others if c.person_id), None)
        target.reviewed_at = timezone.now()
        target.save(update_fields=["label", "person", "reviewed_at", "updated_at"])
        FaceCluster.objects.filter(id__in=other_ids).delete()
        _link_faces_to_cluster_people(Face.objects.filter(cluster=target))

    logger.info("Event %s: merged clusters %s into cluster %s", target.event_id, other_ids, target.id)
    return target


def split_cluster(cluster: FaceCluster, face_ids: Iterable) -> FaceCluster:
    """Move the given faces of the cluster into a new cluster of the same event, and return it.

    The moved faces keep every plausible identity they had, so a person the
    cluster was linked to still applies to them. The new cluster has no link.
    """
    chosen = _parse_face_ids(face_ids)
    if not chosen:
        raise ClusterError(f"Choose at least one face to split off cluster {cluster.id}.")

    with transaction.atomic():
        _lock_event(cluster.event_id)
        members = {str(face_id) for face_id in cluster.faces.values_list("id", flat=True)}
        outside = sorted(chosen - members)
        if outside:
            raise ClusterError(
                f"Faces {', '.join(outside)} are not in cluster {cluster.id}; choose faces of that cluster."
            )
        if chosen == members:
            raise ClusterError(
                f"Splitting off all {len(members)} faces of cluster {cluster.id} would leave it empty; "
                "choose fewer faces."
            )

        now = timezone.now()
        new_cluster = FaceCluster.objects.create(event_id=cluster.event_id, reviewed_at=now)
        Face.objects.filter(id__in=chosen).update(cluster=new_cluster)
        cluster.reviewed_at = now
        cluster.save(update_fields=["reviewed_at", "updated_at"])

    logger.info(
        "Event %s: split %d faces off cluster %s into cluster %s",
        cluster.event_id,
        len(chosen),
        cluster.id,
        new_cluster.id,
    )
    return new_cluster


def name_cluster(cluster: FaceCluster, label: str, person: User | None = None) -> FaceCluster:
    """Give the cluster a label and, optionally, link it to a member of its event; return the cluster.

    A link adds the person to the plausible identities of every face of the
    cluster, now and after each re-classification. Without a person, an
    existing link stays.
    """
    label = label.strip()
    if len(label) > LABEL_MAX_LENGTH:
        raise ClusterError(f"The label has {len(label)} characters; use at most {LABEL_MAX_LENGTH}.")
    if person is not None and not Membership.objects.filter(event_id=cluster.event_id, user=person).exists():
        raise ClusterError(
            f"User {person.id} is not a member of event {cluster.event_id}; link the cluster to a member."
        )

    with transaction.atomic():
        _lock_event(cluster.event_id)
        cluster.label = label
        if person is not None:
            cluster.person = person
        cluster.reviewed_at = timezone.now()
        cluster.save(update_fields=["label", "person", "reviewed_at", "updated_at"])
        _link_faces_to_cluster_people(Face.objects.filter(cluster=cluster))

    logger.info("Event %s: cluster %s named, linked to user %s", cluster.event_id, cluster.id, cluster.person_id)
    return cluster


def _lock_event(event_id) -> None:
    Event.objects.select_for_update().filter(id=event_id).values_list("id", flat=True).first()


def _member_embeddings(event_id, exclude_photo_id) -> dict[str, list[np.ndarray]]:
    # NOTE: this loads every clustered face of the event (2 KB each) per photo,
    # which is fine for thousands of faces but not for hundreds of thousands.
    members = defaultdict(list)
    clustered = (
        Face.objects.filter(photo__event_id=event_id, cluster__isnull=False)
        .exclude(status=Decision.MATCHED)
        .exclude(photo_id=exclude_photo_id)
        .values_list("cluster_id", "embedding")
    )
    for cluster_id, embedding in clustered:
        members[str(cluster_id)].append(embedding)
    return members


def _link_faces_to_cluster_people(faces: QuerySet[Face]) -> None:
    """Add to each face the person its cluster is linked to, where that person is not among its plausible identities."""
    changed = []
    linked = faces.filter(cluster__person__isnull=False).values_list("id", "plausible_identities", "cluster__person_id")
    for face_id, plausible, person_id in linked:
        if str(person_id) not in plausible:
            changed.append(Face(id=face_id, plausible_identities=[*plausible, str(person_id)]))
    Face.objects.bulk_update(changed, ["plausible_identities"], batch_size=500)


def _check_mergeable(target: FaceCluster, others: list[FaceCluster]) -> None:
    if not others:
        raise ClusterError(f"Choose at least one cluster to merge into cluster {target.id}.")
    if any(cluster.id == target.id for cluster in others):
        raise ClusterError(f"Cluster {target.id} cannot be merged into itself.")

    foreign = [str(cluster.id) for cluster in others if cluster.event_id != target.event_id]
    if foreign:
        raise ClusterError(
            f"Clusters {', '.join(foreign)} belong to another event than cluster {target.id}; "
            "only clusters of one event can be merged."
        )

    people = {str(cluster.person_id) for cluster in [target, *others] if cluster.person_id is not None}
    if len(people) > 1:
        raise ClusterError(
            f"The clusters are linked to {len(people)} different people; merge only clusters of one person."
        )


def _parse_face_ids(face_ids: Iterable) -> set[str]:
    parsed = set()
    for value in face_ids:
        try:
            parsed.add(str(uuid.UUID(str(value))))
        except ValueError:
            raise ClusterError(f"{value!r} is not a face id.") from None
    return parsed

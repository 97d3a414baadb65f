"""Clusters of the unidentified faces of an event, and the reviewer's actions on them.

Faces join clusters photo by photo as photos are processed, and a
re-classification rebuilds the clusters. A reviewer merges, splits and names
them. Only faces that are not matched belong to a cluster.

Privacy: a reviewer's link is stored on each face of the cluster
(Face.linked_identities), and the consent rule (events.visibility) applies the
sharing choice of every person linked to a face. A face that joins a cluster
takes every person linked to the cluster or to any face in it. Nothing here
removes a person from linked_identities, so a link survives a match, a
re-link, a split, a merge and a rebuild that moves or deletes the cluster.
Only an erasure (recognition.erasure) removes it, leaving the person's choice
as the face's floor. Nothing here changes a face's recognition status or its
plausible identities.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, User
from events.models import Event, Membership, Photo
from recognition import clustering
from recognition.models import Face, FaceCluster
from recognition.schemas import Decision

logger = logging.getLogger(__name__)

LABEL_MAX_LENGTH = FaceCluster._meta.get_field("label").max_length


class ClusterError(ValueError):
    """A reviewer's request on clusters that cannot be carried out. The message explains why."""


def assign_faces_to_clusters(photo: Photo) -> None:
    """Put each unidentified face of a processed photo into the nearest cluster of its event, or into a new one.

    The faces take the links of the clusters they join. Call this in the
    transaction that saves the faces and marks the photo done, so that no
    viewer sees the photo before its faces carry their links.
    """
    with transaction.atomic():
        # Two workers processing photos of one event at once would each start
        # a cluster for the same new person, so they take turns here.
        lock_event(photo.event_id)
        faces = list(
            Face.objects.filter(photo=photo, cluster__isnull=True, embedding__isnull=False)
            .exclude(status=Decision.MATCHED)
            .only("id", "embedding")
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
        _spread_links({face.cluster_id for face in faces})
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
    is clustered again from scratch. Every face keeps the people it was linked
    to, wherever it ends up.
    """
    with transaction.atomic():
        lock_event(event.id)
        event_faces = Face.objects.filter(photo__event_id=event.id)
        event_faces.filter(status=Decision.MATCHED, cluster__isnull=False).update(cluster=None)
        # The faces of the deleted clusters lose their cluster (SET_NULL).
        FaceCluster.objects.filter(event_id=event.id, reviewed_at__isnull=True).delete()

        # NOTE: a face is not offered to the reviewed clusters here, only to the
        # other loose faces, so it waits for a reviewer to merge it by hand.
        faces = list(
            event_faces.filter(cluster__isnull=True, embedding__isnull=False)
            .exclude(status=Decision.MATCHED)
            .only("id", "photo", "embedding")
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
        _spread_links(FaceCluster.objects.filter(event_id=event.id).values("id"))

    logger.info(
        "Event %s: %d loose faces re-clustered; %d clusters in all",
        event.id,
        len(faces),
        FaceCluster.objects.filter(event_id=event.id).count(),
    )


def merge_clusters(target: FaceCluster, others: Iterable[FaceCluster], *, reviewer: User | None = None) -> FaceCluster:
    """Move the faces of the other clusters into the target and delete the others; return the target.

    The target keeps its label and link, or takes them from the first other
    cluster that has one. Every face of the merged cluster takes every person
    linked to any of its faces. The audit log records the reviewer.
    """
    others = list(others)
    _check_mergeable(target, others)

    with transaction.atomic():
        lock_event(target.event_id)
        other_ids = [cluster.id for cluster in others]
        Face.objects.filter(cluster_id__in=other_ids).update(cluster=target)
        target.label = target.label or next((cluster.label for cluster in others if cluster.label), "")
        target.person_id = target.person_id or next((c.person_id for c in others if c.person_id), None)
        target.reviewed_at = timezone.now()
        target.save(update_fields=["label", "person", "reviewed_at", "updated_at"])
        FaceCluster.objects.filter(id__in=other_ids).delete()
        _spread_links([target.id])
        _audit_decision(
            "merge", target, reviewer, target.person_id, merged=[str(cluster_id) for cluster_id in other_ids]
        )

    logger.info("Event %s: merged clusters %s into cluster %s", target.event_id, other_ids, target.id)
    return target


def split_cluster(cluster: FaceCluster, face_ids: Iterable, *, reviewer: User | None = None) -> FaceCluster:
    """Move the given faces of the cluster into a new cluster of the same event, and return it.

    The moved faces keep every person they were linked to, and a face that
    later joins either cluster takes those links too. The new cluster itself
    has no person. The audit log records the reviewer.
    """
    chosen = _parse_face_ids(face_ids)
    if not chosen:
        raise ClusterError(f"Choose at least one face to split off cluster {cluster.id}.")

    with transaction.atomic():
        lock_event(cluster.event_id)
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
        _audit_decision(
            "split", cluster, reviewer, cluster.person_id, new_cluster=str(new_cluster.id), faces=len(chosen)
        )

    logger.info(
        "Event %s: split %d faces off cluster %s into cluster %s",
        cluster.event_id,
        len(chosen),
        cluster.id,
        new_cluster.id,
    )
    return new_cluster


def name_cluster(
    cluster: FaceCluster, label: str, person: User | None = None, *, reviewer: User | None = None
) -> FaceCluster:
    """Give the cluster a label and, optionally, link it to a member of its event; return the cluster.

    A link adds the person to the linked identities of every face of the
    cluster. Linking another person later adds them too and keeps the first,
    because a link only ever adds a sharing choice. Without a person, the
    existing links stay. The audit log records the reviewer and the linked
    person, but not the label, which may be a name.
    """
    label = label.strip()
    if len(label) > LABEL_MAX_LENGTH:
        raise ClusterError(f"The label has {len(label)} characters; use at most {LABEL_MAX_LENGTH}.")
    if person is not None and not Membership.objects.filter(event_id=cluster.event_id, user=person).exists():
        raise ClusterError(
            f"User {person.id} is not a member of event {cluster.event_id}; link the cluster to a member."
        )

    with transaction.atomic():
        lock_event(cluster.event_id)
        cluster.label = label
        if person is not None:
            cluster.person = person
        cluster.reviewed_at = timezone.now()
        cluster.save(update_fields=["label", "person", "reviewed_at", "updated_at"])
        _spread_links([cluster.id])
        _audit_decision("name", cluster, reviewer, person, labelled=bool(label))

    logger.info("Event %s: cluster %s named, linked to user %s", cluster.event_id, cluster.id, cluster.person_id)
    return cluster


def _audit_decision(decision: str, cluster: FaceCluster, reviewer, person, **details) -> None:
    """Record a reviewer's decision on a cluster; details contain ids and counts, never the label."""
    audit.record(
        AuditAction.REVIEW_DECISION,
        actor=reviewer,
        subject=person,
        event=cluster.event_id,
        decision=decision,
        cluster=str(cluster.id),
        **details,
    )


def lock_event(event_id) -> None:
    """Lock the event's row until the transaction ends; every change to its clusters takes this lock first."""
    Event.objects.select_for_update().filter(id=event_id).values_list("id", flat=True).first()


def _member_embeddings(event_id, exclude_photo_id) -> dict[str, list[np.ndarray]]:
    # NOTE: this loads every clustered face of the event (2 KB each) per photo,
    # which is fine for thousands of faces but not for hundreds of thousands.
    members = defaultdict(list)
    clustered = (
        Face.objects.filter(photo__event_id=event_id, cluster__isnull=False, embedding__isnull=False)
        .exclude(status=Decision.MATCHED)
        .exclude(photo_id=exclude_photo_id)
        .values_list("cluster_id", "embedding")
    )
    for cluster_id, embedding in clustered:
        members[str(cluster_id)].append(embedding)
    return members


def _spread_links(cluster_ids: Iterable) -> None:
    """Give each face of the clusters every person linked to its cluster or to another face in it."""
    rows = list(
        Face.objects.filter(cluster_id__in=cluster_ids).values_list(
            "id", "cluster_id", "linked_identities", "cluster__person_id"
        )
    )
    people = defaultdict(set)
    for _, cluster_id, linked, person_id in rows:
        people[cluster_id].update(str(user_id) for user_id in linked)
        if person_id is not None:
            people[cluster_id].add(str(person_id))

    changed, touched = [], set()
    for face_id, cluster_id, linked, _ in rows:
        missing = sorted(people[cluster_id] - {str(user_id) for user_id in linked})
        if missing:
            changed.append(Face(id=face_id, linked_identities=[*linked, *missing]))
            touched.add(str(cluster_id))
    Face.objects.bulk_update(changed, ["linked_identities"], batch_size=500)

    if changed:
        logger.info("%d faces took the links of their clusters %s", len(changed), sorted(touched))


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

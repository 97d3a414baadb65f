"""Removal of a person from the faces of events: matches, candidates, plausible identities and reviewers' links.

A removed person leaves their sharing choice on every face that may have
been theirs (Face.sharing_floor), so that an erasure never unveils a face
that was hidden or blurred. The floor carries no link to the person.
"""

import logging
from collections.abc import Collection

from django.db import transaction
from django.db.models import F, Q, QuerySet

from accounts.models import Sharing, User
from events.models import Membership
from events.rendering import delete_renditions
from events.visibility import strictest
from recognition.clusters import lock_event
from recognition.jobs import request_reclassification
from recognition.models import Face, FaceCluster
from recognition.schemas import Decision

logger = logging.getLogger(__name__)

# The fields of a face that name people or derive from their selfies.
UNLINKED_FIELDS = [
    "embedding",
    "cluster",
    "status",
    "identity",
    "candidate",
    "distance",
    "plausible_identities",
    "linked_identities",
    "sharing_floor",
]


def faces_of_person(user_id) -> QuerySet[Face]:
    """Return every face that may be the person's: matched, uncertain with them as candidate, plausible or linked.

    An unknown face also records its nearest person as candidate, however far:
    that face is not theirs, so it is not listed here.
    """
    user_id = str(user_id)
    return Face.objects.filter(
        Q(identity_id=user_id)
        | Q(candidate_id=user_id, status=Decision.UNCERTAIN.value)
        | Q(plausible_identities__list_has_any=[user_id])
        | Q(linked_identities__list_has_any=[user_id])
    )


@transaction.atomic
def remove_person_from_faces(user: User, event_ids: Collection | None = None) -> int:
    """Unlink the person from every face of the events (all events when None); return how many faces changed.

    Each face keeps the strictest of its floor and the person's effective
    choice for its event (hide when they have none there). The stored
    renditions of the changed photos are deleted. The person's events in
    scope, and the events of the changed faces, are queued for
    re-classification, because the person's selfies no longer count there.
    Reclassification keeps floors, so no later job lowers them again.
    """
    memberships = Membership.objects.filter(user=user).select_related("user")
    faces = (
        faces_of_person(user.id)
        .annotate(event_key=F("photo__event_id"))
        .only(*UNLINKED_FIELDS, "photo_id")
        .order_by("id")
    )
    clusters = FaceCluster.objects.filter(person=user)
    if event_ids is not None:
        event_ids = [str(event_id) for event_id in event_ids]
        memberships = memberships.filter(event_id__in=event_ids)
        faces = faces.filter(photo__event_id__in=event_ids)
        clusters = clusters.filter(event_id__in=event_ids)

    choice_by_event = {str(membership.event_id): membership.effective_sharing for membership in memberships}
    face_events = {str(event_id) for event_id in faces.values_list("photo__event_id", flat=True)}
    affected_events = set(choice_by_event) | face_events
    # Photo jobs, re-classifications and cluster changes take this lock to fit
    # their classifier and write faces. A job that gets it first commits its
    # matches before the faces are read below; a job that comes after no longer
    # finds the deleted selfies. Sorted, so that two erasures cannot deadlock.
    for event_id in sorted(affected_events):
        lock_event(event_id)

    changed = [_unlink(face, str(user.id), choice_by_event.get(str(face.event_key), Sharing.HIDE)) for face in faces]
    Face.objects.bulk_update(changed, UNLINKED_FIELDS, batch_size=500)
    # Unknown faces that merely had them as nearest candidate keep everything else.
    nearest = Face.objects.filter(candidate=user)
    if event_ids is not None:
        nearest = nearest.filter(photo__event_id__in=event_ids)
    nearest.update(candidate=None, distance=None)
    # A reviewer's label may be the person's name, so it goes with the link.
    unlinked_clusters = clusters.update(person=None, label="")

    delete_renditions({face.photo_id for face in changed})
    request_reclassification(sorted(affected_events))
    logger.info(
        "User %s removed from %d faces and %d clusters in %d events",
        user.id,
        len(changed),
        unlinked_clusters,
        len(affected_events),
    )
    return len(changed)


def _unlink(face: Face, user_id: str, choice: str) -> Face:
    floor = strictest([choice, face.sharing_floor] if face.sharing_floor else [choice])
    face.sharing_floor = "" if floor == Sharing.SHARE else floor

    # The embedding may be a template of the person's face: it goes with them.
    # Re-classification and clustering skip faces without one, so this face
    # keeps its floor and is never matched to anyone again.
    face.embedding = None
    face.cluster = None

    face.plausible_identities = [owner for owner in face.plausible_identities if str(owner) != user_id]
    face.linked_identities = [owner for owner in face.linked_identities if str(owner) != user_id]
    if str(face.identity_id) == user_id:
        # The re-classification that follows decides again from the remaining selfies.
        face.identity = None
        face.status = Decision.UNKNOWN.value
        face.distance = None
    if str(face.candidate_id) == user_id:
        face.candidate = None
        face.distance = None
    return face

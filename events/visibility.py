"""The consent rule: may viewer V see photo P, and in which rendition.

Every way out of the system (pages, image responses, downloads, counts)
calls this module and nothing else. The rule fails closed: a photo is withheld from
others whenever anything it depends on is unknown or unexpected.

For a member V of the photo's event, photo P is:

- withheld from everyone but its uploader until processing is done;
- withheld if a face may belong to someone other than V who chose "hide". A
  face may belong to its matched identity, to every other plausible
  identity that classification recorded (so a look-alike or a copied selfie
  cannot unveil anyone), and to every person a reviewer linked to it
  (Face.owner_ids);
- withheld if an unidentified face (unknown, or uncertain) falls under
  the event's "hold" policy, or while the event waits for re-classification;
- otherwise shown, with every face blurred that may belong to someone other
  than V who chose "blur", and every unidentified face under the "blur" policy.

A face also keeps the strictest choice of anyone it was linked to before that
link was deleted (Face.sharing_floor), for everyone, V included.

A person who is not a member of the event sees nothing of it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch

from accounts.models import Sharing, User
from events.models import Event, JobStatus, Membership, Photo, UnknownFacePolicy
from recognition.models import Face
from recognition.schemas import Box, Decision


@dataclass(frozen=True)
class Rendition:
    """The form in which a viewer may see a photo: as is, or with the listed face boxes blurred."""

    blurred_boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class EventAccess:
    """A viewer's standing in an event, with every member's sharing choice loaded."""

    event: Event
    viewer: User
    membership: Membership
    sharing_by_user_id: dict[str, str]

    @property
    def is_organizer(self) -> bool:
        return self.membership.is_organizer

    @property
    def unidentified_face_treatment(self) -> str:
        # Faces may be about to be named: hold them until that is done.
        if self.event.reclassification_requested_at is not None:
            return Sharing.HIDE

        policy = self.event.unknown_face_policy
        if policy == UnknownFacePolicy.SHOW:
            return Sharing.SHARE
        if policy == UnknownFacePolicy.BLUR:
            return Sharing.BLUR
        return Sharing.HIDE


def event_access(viewer: User, event_id) -> EventAccess | None:
    """Return the viewer's access to the event, or None when they are not a member."""
    if not viewer.is_authenticated:
        return None

    membership = Membership.objects.select_related("event", "user").filter(event_id=event_id, user=viewer).first()
    if membership is None:
        return None

    members = Membership.objects.filter(event_id=event_id).select_related("user")
    sharing = {str(member.user_id): member.effective_sharing for member in members}
    return EventAccess(membership.event, viewer, membership, sharing)


def photo_rendition(access: EventAccess, photo: Photo) -> Rendition | None:
    """Return how the viewer may see the photo, or None when they may not see it."""
    if photo.event_id != access.event.id:
        return None

    if photo.status != JobStatus.DONE:
        return Rendition() if photo.uploaded_by_id == access.viewer.id else None

    blurred: list[Box] = []
    for face in photo.faces.all():
        treatment = _face_treatment(access, face)
        if treatment == Sharing.BLUR:
            blurred.append(face.box)
        elif treatment != Sharing.SHARE:
            return None
    return Rendition(tuple(blurred))


def visible_photos(access: EventAccess, photos: Iterable[Photo] | None = None) -> list[tuple[Photo, Rendition]]:
    """Return the event's photos that the viewer may see, each with its rendition."""
    # TODO: paginate, and filter in the database first, before events reach
    # tens of thousands of photos: this loads every photo and face of the event.
    if photos is None:
        photos = photos_with_faces(access.event.photos.all())

    visible = []
    for photo in photos:
        rendition = photo_rendition(access, photo)
        if rendition is not None:
            visible.append((photo, rendition))
    return visible


def photos_with_faces(queryset):
    """Load each photo's faces in one query, as photo_rendition reads them."""
    return queryset.prefetch_related(
        Prefetch(
            "faces",
            queryset=Face.objects.only(
                "id",
                "photo_id",
                "status",
                "identity_id",
                "plausible_identities",
                "linked_identities",
                "sharing_floor",
                "box_x",
                "box_y",
                "box_width",
                "box_height",
            ),
        )
    )


# From least to most restrictive; anything not listed counts as hide.
_TREATMENT_ORDER = {Sharing.SHARE: 0, Sharing.BLUR: 1, Sharing.HIDE: 2}


def strictest(treatments: Iterable[str]) -> str:
    """Return the most restrictive of the choices, share when there are none; unknown values count as hide."""
    return max(treatments, key=lambda treatment: _TREATMENT_ORDER.get(treatment, 2), default=Sharing.SHARE)


def _face_treatment(access: EventAccess, face: Face) -> str:
    """Return share, blur or hide for one face, as seen by the viewer: the strictest that applies."""
    is_matched = face.status == Decision.MATCHED and face.identity_id is not None

    owners = face.owner_ids()
    owners.discard(str(access.viewer.id))

    # A person without a known choice is hidden: fail closed.
    treatments = [access.sharing_by_user_id.get(user_id, Sharing.HIDE) for user_id in owners]
    if not is_matched:
        treatments.append(access.unidentified_face_treatment)
    if face.sharing_floor:
        treatments.append(face.sharing_floor)

    return strictest(treatments)

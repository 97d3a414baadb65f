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

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Sharing, User
from events.models import Event, JobStatus, Membership, Photo, ShareLink, UnknownFacePolicy
from recognition.models import Face
from recognition.schemas import Box, Decision

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendition:
    """The form in which a viewer may see a photo: as is, or with the listed face boxes blurred."""

    blurred_boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class EventAccess:
    """A viewer's standing in an event, with every member's sharing choice loaded.

    viewer and membership are None for an anonymous viewer, who comes through a
    public share link and is no one in any photo.
    """

    event: Event
    viewer: User | None
    membership: Membership | None
    sharing_by_user_id: dict[str, str]

    @property
    def viewer_id(self) -> str | None:
        return None if self.viewer is None else str(self.viewer.id)

    @property
    def is_organizer(self) -> bool:
        return self.membership is not None and self.membership.is_organizer

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

    return EventAccess(membership.event, viewer, membership, _sharing_choices(event_id))


def share_link_access(token: str) -> tuple[ShareLink, EventAccess] | None:
    """Return the link and an anonymous viewer's access to its event, or None when the link is not active."""
    link = ShareLink.objects.select_related("event").filter(token=token).first()
    if link is None or not link.is_active(timezone.now()):
        return None

    return link, EventAccess(link.event, None, None, _sharing_choices(link.event_id))


def _sharing_choices(event_id) -> dict[str, str]:
    members = Membership.objects.filter(event_id=event_id).select_related("user")
    return {str(member.user_id): member.effective_sharing for member in members}


def photo_rendition(access: EventAccess, photo: Photo) -> Rendition | None:
    """Return how the viewer may see the photo, or None when they may not see it."""
    if photo.event_id != access.event.id:
        return None

    if photo.status != JobStatus.DONE:
        is_uploader = access.viewer_id is not None and str(photo.uploaded_by_id) == access.viewer_id
        return Rendition() if is_uploader else None

    blurred: list[Box] = []
    for face in photo.faces.all():
        treatment = _face_treatment(access, face)
        if treatment == Sharing.BLUR:
            blurred.append(face.box)
        elif treatment != Sharing.SHARE:
            return None
    return Rendition(tuple(blurred))


def visible_photo_queryset(access: EventAccess) -> QuerySet[Photo]:
    """Return the event's photos that the viewer may see, filtered in the database.

    This is the rule of photo_rendition written as one query, so that a gallery
    page, a count or a cover costs the same whatever the number of photos and
    faces. Callers still pass each photo they show through photo_rendition,
    which also works out the faces to blur: a photo is shown only when both agree.
    """
    photos = access.event.photos.all()
    blocking_faces = Face.objects.filter(photo=OuterRef("pk")).filter(_blocking_face(access))
    visible = Q(status=JobStatus.DONE) & ~Exists(blocking_faces)
    if access.viewer_id is not None:
        # Uploaders follow their own photos through processing.
        visible |= ~Q(status=JobStatus.DONE) & Q(uploaded_by_id=access.viewer_id)
    return photos.filter(visible)


def _blocking_face(access: EventAccess) -> Q:
    """Return the condition for a face that withholds its photo from the viewer.

    Any condition that cannot be decided blocks: unknown people, floors and
    statuses count as hide, as in _face_treatment.
    """
    member_ids = list(access.sharing_by_user_id)
    hiders = [
        user_id
        for user_id, choice in access.sharing_by_user_id.items()
        if choice not in _PERMISSIVE and user_id != access.viewer_id
    ]

    # Someone who is not a member has no known choice.
    blocking = ~Q(plausible_identities__list_within=member_ids) | ~Q(linked_identities__list_within=member_ids)
    blocking |= Q(identity_id__isnull=False) & ~Q(identity_id__in=member_ids)
    blocking |= ~Q(sharing_floor__in=["", *_PERMISSIVE])
    if hiders:
        blocking |= Q(identity_id__in=hiders)
        blocking |= Q(plausible_identities__list_has_any=hiders) | Q(linked_identities__list_has_any=hiders)
    if access.unidentified_face_treatment not in _PERMISSIVE:
        blocking |= ~Q(status=Decision.MATCHED.value, identity_id__isnull=False)
    return blocking


def visible_photos(access: EventAccess, photos: Iterable[Photo]) -> list[tuple[Photo, Rendition]]:
    """Return those of the photos that the viewer may see, each with its rendition.

    photos should come from visible_photo_queryset through photos_with_faces, so
    that the database did the filtering and each photo's faces are loaded.
    """
    visible = []
    for photo in photos:
        rendition = _checked_rendition(access, photo)
        if rendition is not None:
            visible.append((photo, rendition))
    return visible


def _checked_rendition(access: EventAccess, photo: Photo) -> Rendition | None:
    """Return the rule's rendition of a photo that the query returned, logging when the rule withholds it."""
    rendition = photo_rendition(access, photo)
    if rendition is None:
        # The query and the rule disagree: the rule wins, and the query needs a fix.
        logger.warning("Photo %s passed the visibility query but not the rule", photo.id)
    return rendition


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
# The treatments that let a photo be shown.
_PERMISSIVE = [Sharing.SHARE.value, Sharing.BLUR.value]


def strictest(treatments: Iterable[str]) -> str:
    """Return the most restrictive of the choices, share when there are none; unknown values count as hide."""
    return max(treatments, key=lambda treatment: _TREATMENT_ORDER.get(treatment, 2), default=Sharing.SHARE)


def _face_treatment(access: EventAccess, face: Face) -> str:
    """Return share, blur or hide for one face, as seen by the viewer: the strictest that applies."""
    is_matched = face.status == Decision.MATCHED and face.identity_id is not None

    owners = face.owner_ids()
    owners.discard(access.viewer_id)

    # A person without a known choice is hidden: fail closed.
    treatments = [access.sharing_by_user_id.get(user_id, Sharing.HIDE) for user_id in owners]
    if not is_matched:
        treatments.append(access.unidentified_face_treatment)
    if face.sharing_floor:
        treatments.append(face.sharing_floor)

    return strictest(treatments)


def visible_photo(access: EventAccess, photo_id) -> tuple[Photo, Rendition] | None:
    """Return one photo of the event and its rendition, when both the query and the rule let the viewer see it."""
    photo = photos_with_faces(visible_photo_queryset(access).filter(id=photo_id)).first()
    if photo is None:
        return None

    rendition = _checked_rendition(access, photo)
    return None if rendition is None else (photo, rendition)


def member_photo(viewer: User, photo_id) -> tuple[EventAccess, Photo, Rendition] | None:
    """Return the member's access, the photo and its rendition, or None when it is missing or hidden from them."""
    event_id = Photo.objects.filter(id=photo_id).values_list("event_id", flat=True).first()
    if event_id is None:
        return None

    access = event_access(viewer, event_id)
    if access is None:
        return None

    found = visible_photo(access, photo_id)
    if found is None:
        return None
    return access, *found


def event_summary(access: EventAccess) -> tuple[int, tuple[Photo, Rendition] | None]:
    """Return how many photos of the event the viewer may see, and the cover: the first of them."""
    photos = visible_photo_queryset(access)
    count = photos.count()
    first = photos_with_faces(photos.order_by("uploaded_at", "id")[:1])
    cover = visible_photos(access, first)
    return count, cover[0] if cover else None

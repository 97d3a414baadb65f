"""Recognition jobs on Django rows: process a photo, enroll a selfie, re-classify an event.

Each job takes an id, claims its row with a conditional UPDATE, and records
its outcome on the row. A retry of a finished job therefore does nothing, and
a job whose worker died is claimed again once it is stale. A bad upload marks
its own row failed with a message for the uploader instead of raising.
"""

import logging
import time
from collections.abc import Callable, Collection
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Sharing
from events.models import Event, JobStatus, Membership, Photo
from events.rendering import delete_renditions
from events.visibility import strictest
from recognition import clusters
from recognition.classification import IdentityClassifier, Thresholds
from recognition.embedding import EMBEDDING_SIZE
from recognition.enrollment import choose_selfie_face
from recognition.imaging import ImageError, load_image_array
from recognition.models import Face, Selfie
from recognition.pipeline import FacePipeline, PipelineConfig, get_pipeline
from recognition.schemas import AnalyzedFace, Decision

logger = logging.getLogger(__name__)

T = TypeVar("T")

UNEXPECTED_ERROR = "Processing {name} failed unexpectedly. Upload it again; if it fails again, tell the organizer."


def pipeline() -> FacePipeline:
    return get_pipeline(
        PipelineConfig(
            model_dir=settings.FACEGATE_MODEL_DIR,
            detector_runtime=settings.FACEGATE_DETECTOR,
            detection_max_side=settings.FACEGATE_DETECTION_MAX_SIDE,
            detection_fine_side=settings.FACEGATE_DETECTION_FINE_SIDE,
            min_face_pixels=settings.FACEGATE_MIN_FACE_PIXELS,
            min_detection_confidence=settings.FACEGATE_MIN_DETECTION_CONFIDENCE,
            detect_all_turns=settings.FACEGATE_DETECT_ALL_TURNS,
            edge_padding=settings.FACEGATE_DETECTION_EDGE_PADDING,
        )
    )


def thresholds() -> Thresholds:
    return Thresholds(
        match=settings.FACEGATE_MATCH_THRESHOLD,
        uncertain=settings.FACEGATE_UNCERTAIN_THRESHOLD,
        margin=settings.FACEGATE_MATCH_MARGIN,
        min_face_width=settings.FACEGATE_MIN_NAMED_FACE_PIXELS,
        max_cut_off=settings.FACEGATE_MAX_NAMED_CUT_OFF,
    )


class Claim(StrEnum):
    CLAIMED = "claimed"
    BUSY = "busy"
    """Another worker is processing the row and has not gone stale yet."""
    SETTLED = "settled"
    """The row is done, failed or gone: there is nothing to do."""


def claim(model: type[Photo] | type[Selfie], row_id: str) -> Claim:
    """Move a waiting or stale row to "processing" for this caller."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.FACEGATE_STALE_JOB_SECONDS)
    claimable = models.Q(status=JobStatus.PENDING) | models.Q(
        status=JobStatus.PROCESSING, status_changed_at__lt=stale_before
    )
    claimed = model.objects.filter(claimable, id=row_id).update(
        status=JobStatus.PROCESSING, attempts=models.F("attempts") + 1, status_changed_at=now
    )
    if claimed == 1:
        return Claim.CLAIMED
    if model.objects.filter(id=row_id, status=JobStatus.PROCESSING).exists():
        return Claim.BUSY
    return Claim.SETTLED


def process_photo(photo_id: str) -> Claim:
    """Detect, embed and classify the faces of a photo; return how the claim went."""
    outcome = claim(Photo, photo_id)
    if outcome != Claim.CLAIMED:
        logger.info("Photo %s is %s; not processing it", photo_id, outcome)
        return outcome

    photo = Photo.objects.select_related("event").get(id=photo_id)
    started = time.monotonic()
    analyzed = _attempt(photo, lambda: _analyze_photo(photo))
    if analyzed is None:
        return outcome

    logger.info(
        "Photo %s of event %s: %d faces in %.0f ms",
        photo_id,
        photo.event_id,
        len(analyzed),
        (time.monotonic() - started) * 1000,
    )
    return outcome


def enroll_selfie(selfie_id: str) -> Claim:
    """Check and embed the one clear face of a selfie; return how the claim went."""
    outcome = claim(Selfie, selfie_id)
    if outcome != Claim.CLAIMED:
        logger.info("Selfie %s is %s; not processing it", selfie_id, outcome)
        return outcome

    selfie = Selfie.objects.select_related("user").get(id=selfie_id)
    face = _attempt(selfie, lambda: _selfie_face(selfie))
    if face is None:
        return outcome

    selfie.embedding = face.embedding
    selfie.flipped_embedding = face.flipped_embedding
    _finish(selfie, JobStatus.DONE, "", extra_fields=["embedding", "flipped_embedding"])
    logger.info("Selfie %s of user %s enrolled", selfie_id, selfie.user_id)

    # Imported here because recognition.jobs imports this module through recognition.tasks.
    from recognition.jobs import request_reclassification

    request_reclassification(Membership.objects.filter(user=selfie.user).values_list("event_id", flat=True))
    return outcome


def event_classifier(event: Event, *, user_ids: Collection | None = None) -> IdentityClassifier:
    """Fit the KNN classifier on the enrolled selfies of the event's members, or only of user_ids among them.

    Each selfie counts twice, as taken and mirrored: on the test set this
    named 36 of 37 query faces instead of 34, with no wrong name.
    """
    selfies = Selfie.objects.filter(
        status=JobStatus.DONE,
        user__memberships__event=event,
        user__biometric_consent_at__isnull=False,
    )
    if user_ids is not None:
        selfies = selfies.filter(user_id__in=user_ids)
    selfies = selfies.values_list("user_id", "embedding", "flipped_embedding")

    labels, vectors = [], []
    for user_id, *samples in selfies:
        for sample in samples:
            if sample is not None:
                labels.append(str(user_id))
                vectors.append(sample)
    embeddings = np.array(vectors, dtype=np.float32)
    classifier = IdentityClassifier(thresholds(), neighbors=settings.FACEGATE_KNN_NEIGHBORS)
    return classifier.fit(embeddings.reshape(len(labels), EMBEDDING_SIZE), labels)


def reclassify_event(event_id: str) -> None:
    """Classify every face of the event again, after an enrollment changed."""
    event = Event.objects.filter(id=event_id).first()
    if event is None:
        logger.info("Event %s is gone; nothing to re-classify", event_id)
        return

    requested_at = event.reclassification_requested_at
    # The event's lock keeps an erasure or a photo job from writing these faces
    # between the read and the update: their floors and links would be lost.
    # The classifier is fitted under it too, so that it never uses the selfies
    # of a person whom an erasure is removing.
    with transaction.atomic():
        clusters.lock_event(event.id)
        classifier = event_classifier(event)
        faces = _reclassify_faces(event, classifier)

    logger.info(
        "Event %s: re-classified %d faces against %d identities", event_id, len(faces), len(classifier.identities)
    )
    clusters.recluster_event(event)

    # A request that arrived while this job ran keeps the mark for its own job.
    Event.objects.filter(id=event.id, reclassification_requested_at=requested_at).update(
        reclassification_requested_at=None
    )


def _reclassify_faces(event: Event, classifier: IdentityClassifier) -> list[Face]:
    """Classify the event's faces again and save the decisions; return the faces."""
    sharing = _event_choices(event.id)
    # A face without an embedding lost it with an erased person and keeps its state.
    faces = list(
        Face.objects.filter(photo__event=event, embedding__isnull=False).only(
            "id",
            "photo_id",
            "embedding",
            "box_width",
            "cut_off",
            "status",
            "identity_id",
            "plausible_identities",
            "linked_identities",
            "sharing_floor",
        )
    )
    if faces:
        results = classifier.classify(
            np.stack([face.embedding for face in faces]),
            [classifier.thresholds.allow_name(face.box_width, face.cut_off) for face in faces],
        )
        changed_photo_ids = set()
        for face, result in zip(faces, results, strict=True):
            owners_before = face.owner_ids()
            status_before = face.status
            _apply_classification(face, result)
            # A person who no longer owns the face leaves their choice on it.
            # People a reviewer linked never leave here: only an erasure removes
            # them, and it sets the floor itself.
            departed = owners_before - face.owner_ids()
            choices = [sharing.get(user_id, Sharing.HIDE) for user_id in departed]
            if face.sharing_floor:
                choices.append(face.sharing_floor)
            floor = strictest(choices)
            face.sharing_floor = "" if floor == Sharing.SHARE else floor
            if face.owner_ids() != owners_before or face.status != status_before:
                changed_photo_ids.add(face.photo_id)
        Face.objects.bulk_update(
            faces,
            ["status", "identity", "candidate", "distance", "plausible_identities", "sharing_floor"],
            batch_size=500,
        )
        # A copy stored before a face was named may show that person unblurred.
        # The rule never serves it again, since the key follows the boxes, but it goes.
        delete_renditions(changed_photo_ids)
    return faces


def _attempt(row: Photo | Selfie, work: Callable[[], T]) -> T | None:
    """Run a job's work; on any error, mark the row failed with a message for the uploader and return None.

    Errors from the work are not re-raised, so that one bad upload cannot crash-loop a worker.
    """
    label = type(row).__name__
    try:
        return work()
    except ImageError as error:
        _finish(row, JobStatus.FAILED, str(error))
        logger.info("%s %s rejected: %s", label, row.id, error)
    except Exception:
        _finish(row, JobStatus.FAILED, UNEXPECTED_ERROR.format(name=row.original_name))
        logger.exception("%s %s failed", label, row.id)
    return None


def _analyze_photo(photo: Photo) -> list[AnalyzedFace]:
    image = _read_image(photo.file, photo.original_name)
    analyzed = pipeline().analyze(image)
    _save_faces(photo, image, analyzed)
    return analyzed


def _selfie_face(selfie: Selfie) -> AnalyzedFace:
    image = _read_image(selfie.file, selfie.original_name)
    return choose_selfie_face(pipeline().analyze(image, flipped=True), selfie.original_name, image)


def _read_image(file_field, name: str) -> np.ndarray:
    with file_field.open("rb") as stream:
        data = stream.read()
    return load_image_array(data, name=name, max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS)


def _classified_faces(photo: Photo, analyzed: list[AnalyzedFace]) -> list[Face]:
    """Build the photo's face rows from the analysis, classified against the event's selfies as they are now."""
    classifier = event_classifier(photo.event)
    results = classifier.classify_faces(analyzed)
    faces = []
    for item, result in zip(analyzed, results, strict=True):
        face = Face(
            photo=photo,
            box_x=item.face.box.x,
            box_y=item.face.box.y,
            box_width=item.face.box.width,
            box_height=item.face.box.height,
            landmarks={name: [round(x, 1), round(y, 1)] for name, (x, y) in item.face.landmarks.items()},
            confidence=item.face.confidence,
            cut_off=item.face.cut_off,
            embedding=item.embedding,
        )
        _apply_classification(face, result)
        faces.append(face)
    return faces


def _save_faces(photo: Photo, image: np.ndarray, analyzed: list[AnalyzedFace]) -> None:
    photo.height, photo.width = image.shape[:2]
    # The faces join their clusters, and take the reviewer's links, in the
    # transaction that marks the photo done: no viewer sees it without them.
    with transaction.atomic():
        # The event row is locked before any face row, as every cluster change
        # does, so this job and a re-clustering take their locks in one order.
        clusters.lock_event(photo.event_id)
        if not _still_claimed(photo):
            return

        # Classified under the lock, which erasures take too, so a selfie
        # deleted or enrolled meanwhile is either fully seen or fully absent.
        faces = _classified_faces(photo, analyzed)
        # A retried job replaces the faces of an earlier attempt, which keep
        # their people's choices as floors: the new faces cannot be matched to
        # the old ones, so each new face takes the strictest of them all.
        old_faces = list(Face.objects.filter(photo=photo))
        if old_faces:
            _keep_old_floors(photo, old_faces, faces)
            Face.objects.filter(photo=photo).delete()
        Face.objects.bulk_create(faces)
        clusters.assign_faces_to_clusters(photo)
        # The uploader's view while it was processing showed no face blurred.
        delete_renditions([photo.id])
        _finish(photo, JobStatus.DONE, "", extra_fields=["width", "height"])


def _keep_old_floors(photo: Photo, old_faces: list[Face], new_faces: list[Face]) -> None:
    """Give every new face the strictest floor and owner's choice of the faces it replaces."""
    sharing = _event_choices(photo.event_id)
    choices = [face.sharing_floor for face in old_faces if face.sharing_floor]
    choices += [sharing.get(user_id, Sharing.HIDE) for face in old_faces for user_id in face.owner_ids()]
    inherited = strictest(choices)
    if inherited == Sharing.SHARE:
        return

    logger.warning("Photo %s: %d old faces replaced; the new ones keep floor %s", photo.id, len(old_faces), inherited)
    for face in new_faces:
        face.sharing_floor = strictest([inherited, face.sharing_floor] if face.sharing_floor else [inherited])


def _event_choices(event_id) -> dict[str, str]:
    """Return each member's effective sharing choice for the event, by user id."""
    memberships = Membership.objects.filter(event_id=event_id).select_related("user")
    return {str(membership.user_id): membership.effective_sharing for membership in memberships}


def _still_claimed(photo: Photo) -> bool:
    """Lock the photo's row and tell whether this job's claim still holds.

    A worker that went stale may wake after another one claimed the photo
    again and finished it. Its faces would replace the newer ones and drop
    the links a reviewer added since, so it writes nothing.
    """
    claimed = (
        Photo.objects.select_for_update()
        .filter(id=photo.id, status=JobStatus.PROCESSING, attempts=photo.attempts)
        .exists()
    )
    if not claimed:
        logger.warning(
            "Photo %s: attempt %d lost its claim to another worker; its faces are dropped", photo.id, photo.attempts
        )
    return claimed


def _apply_classification(face: Face, result) -> None:
    face.status = result.decision.value
    face.identity_id = result.identity if result.decision == Decision.MATCHED else None
    face.candidate_id = result.candidate
    face.distance = result.distance
    face.plausible_identities = list(result.plausible)


def _finish(row: Photo | Selfie, status: str, error: str, extra_fields: list[str] | None = None) -> bool:
    """Record the job's outcome, unless another worker claimed the row since; return whether it was recorded.

    A stale worker that fails after another one finished the row must not
    turn it back to "failed": a retry would then replace its faces.
    """
    now = timezone.now()
    values = {"status": status, "error": error, "status_changed_at": now}
    values.update({name: getattr(row, name) for name in extra_fields or []})
    claimed = type(row).objects.filter(id=row.id, status=JobStatus.PROCESSING, attempts=row.attempts)
    if not claimed.update(**values):
        logger.warning(
            "%s %s: attempt %d lost its claim; its outcome %s is dropped",
            type(row).__name__,
            row.id,
            row.attempts,
            status,
        )
        return False

    row.status, row.error, row.status_changed_at = status, error, now
    return True

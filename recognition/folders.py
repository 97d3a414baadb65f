"""The folder workflow, outside any event: enroll people from per-person subfolders, tag a folder of photos.

The management commands enroll_folder, tag_folder and export_classifier are
thin wrappers over these functions. Files whose name starts with a dot are
skipped, as file managers hide them. Every other file is tried, whatever its
suffix, so that a file that is not an image is reported rather than silently
left out.
"""

import csv
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
from django.conf import settings

from accounts import audit
from accounts.models import AuditAction, Sharing
from events.models import Event
from recognition.classification import IdentityClassifier
from recognition.embedding import EMBEDDING_SIZE
from recognition.export import save_classifier
from recognition.imaging import ImageError, load_image_array
from recognition.pipeline import FACENET_ONNX_NAME
from recognition.schemas import AnalyzedFace, Box, Classification, Decision
from recognition.services import choose_selfie_face, event_classifier, pipeline, thresholds

logger = logging.getLogger(__name__)

PHOTO_COLUMNS = ("path", "faces", "named", "uncertain", "unknown", "error")
FACE_COLUMNS = (
    "path",
    "face",
    "box_x",
    "box_y",
    "box_width",
    "box_height",
    "decision",
    "identity",
    "candidate",
    "distance",
    "plausible",
    "error",
)
LIST_SEPARATOR = ";"
# Spreadsheet programs evaluate a cell that starts with one of these as a
# formula (CSV injection), and a folder or file name can start with any of them.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class FolderEnrollment:
    """The embeddings enrolled from a people folder, with what could not be used."""

    embeddings: list[np.ndarray] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """One message per image that could not be used; each names the image."""
    people_without_images: list[str] = field(default_factory=list)
    images: int = 0
    """How many images were enrolled; each gives two embeddings, as taken and mirrored."""

    @property
    def people(self) -> list[str]:
        return sorted(set(self.labels))


@dataclass(frozen=True)
class TaggedFace:
    box: Box
    classification: Classification


@dataclass(frozen=True)
class TaggedPhoto:
    relative_path: str
    faces: list[TaggedFace]
    error: str = ""
    """The reason the file could not be tagged; empty when it was."""

    def names(self, decision: Decision) -> list[str]:
        """Return the sorted identities named (MATCHED) or the candidates (UNCERTAIN) of the faces with decision."""
        found = {
            face.classification.identity if decision == Decision.MATCHED else face.classification.candidate
            for face in self.faces
            if face.classification.decision == decision
        }
        return sorted(name for name in found if name)

    def count(self, decision: Decision) -> int:
        return sum(1 for face in self.faces if face.classification.decision == decision)


def output_problem(output: Path) -> str | None:
    """Describe why a command cannot write output, or return None when it can.

    Checked before the slow work, so that a mistyped path does not cost a whole run.
    """
    if output.is_dir():
        return f"{output} is a folder. Give a file name for --output."
    if not output.resolve().parent.is_dir():
        return f"The folder of {output} does not exist. Create it or choose another --output."
    return None


def visible_files(folder: Path, *, recursive: bool) -> list[Path]:
    """Return the files of folder (and its subfolders if recursive) not hidden by a leading dot, sorted."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = [
        path
        for path in candidates
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(files)


def enroll_people(people_dir: Path) -> FolderEnrollment:
    """Embed the one clear face of every image in each subfolder of people_dir, labelled by the subfolder's name."""
    enrollment = FolderEnrollment()
    people = sorted(path for path in people_dir.iterdir() if path.is_dir() and not path.name.startswith("."))
    for person_dir in people:
        used = 0
        for path in visible_files(person_dir, recursive=False):
            name = path.relative_to(people_dir).as_posix()
            try:
                image = _read(path, name)
                face = choose_selfie_face(pipeline().analyze(image, flipped=True), name, image)
            except ImageError as error:
                enrollment.rejected.append(str(error))
                logger.debug("Enrollment image %s rejected: %s", name, error)
                continue

            # As in an event, each selfie counts as taken and mirrored.
            enrollment.embeddings += [face.embedding, face.flipped_embedding]
            enrollment.labels += [person_dir.name, person_dir.name]
            enrollment.images += 1
            used += 1
        if used == 0:
            enrollment.people_without_images.append(person_dir.name)

    logger.info(
        "Enrolled %d people from %d images of %s; %d images rejected",
        len(enrollment.people),
        enrollment.images,
        people_dir,
        len(enrollment.rejected),
    )
    return enrollment


def fit_classifier(enrollment: FolderEnrollment) -> IdentityClassifier:
    """Fit the classifier on the enrolled embeddings, with the thresholds and neighbours of the settings."""
    embeddings = np.array(enrollment.embeddings, dtype=np.float32).reshape(len(enrollment.labels), EMBEDDING_SIZE)
    classifier = IdentityClassifier(thresholds(), neighbors=settings.FACEGATE_KNN_NEIGHBORS)
    return classifier.fit(embeddings, enrollment.labels)


def export_enrollment(enrollment: FolderEnrollment, output: Path) -> dict:
    """Write the classifier fitted on the enrollment to output; return the export's header."""
    return save_classifier(output, fit_classifier(enrollment), model_name=FACENET_ONNX_NAME)


def export_event_classifier(event: Event, output: Path) -> tuple[dict, int]:
    """Write the classifier of the event's consenting, enrolled members who share to output, labelled by user id.

    Only members whose effective sharing choice for the event is "share" are
    exported, because tag_folder names everyone in the export in a CSV that
    the consent rule does not govern. Return the export's header and the
    number of members left out for their choice.
    """
    memberships = list(event.memberships.select_related("user"))
    sharing = [membership.user_id for membership in memberships if membership.effective_sharing == Sharing.SHARE]
    left_out = len(memberships) - len(sharing)
    logger.info(
        "Exporting the classifier of event %s: %d members share, %d members left out for their sharing choice",
        event.id,
        len(sharing),
        left_out,
    )

    classifier = event_classifier(event, user_ids=sharing)
    header = save_classifier(output, classifier, model_name=FACENET_ONNX_NAME)
    # The people whose embeddings now exist outside the database, by id.
    audit.record(
        AuditAction.CLASSIFIER_EXPORTED,
        event=event,
        people=sorted(classifier.identities),
        embeddings=header["embeddings"],
        left_out=left_out,
    )
    logger.info(
        "Exported the classifier of event %s: %d embeddings of %d identities",
        event.id,
        header["embeddings"],
        header["identities"],
    )
    return header, left_out


def tag_photos(photos_dir: Path, classifier: IdentityClassifier, *, skip: Iterable[Path] = ()) -> list[TaggedPhoto]:
    """Detect and classify the faces of every file under photos_dir, recursively, in path order.

    A file that cannot be read or processed gets a TaggedPhoto with an
    error and no faces, so that one bad file never stops the run. Files in
    skip (such as the output CSV) are left out.
    """
    skipped = {path.resolve() for path in skip}
    files = [path for path in visible_files(photos_dir, recursive=True) if path.resolve() not in skipped]

    tagged = [_tag_photo(path, path.relative_to(photos_dir).as_posix(), classifier) for path in files]
    logger.info(
        "Tagged %d files of %s: %d faces, %d files not readable",
        len(tagged),
        photos_dir,
        sum(len(photo.faces) for photo in tagged),
        sum(1 for photo in tagged if photo.error),
    )
    return tagged


def _tag_photo(path: Path, name: str, classifier: IdentityClassifier) -> TaggedPhoto:
    try:
        analyzed = _analyze(path, name)
    except ImageError as error:
        logger.info("Photo %s not tagged: %s", name, error)
        return TaggedPhoto(name, [], str(error))

    if not analyzed:
        return TaggedPhoto(name, [])
    results = classifier.classify_faces(analyzed)
    faces = [TaggedFace(face.face.box, result) for face, result in zip(analyzed, results, strict=True)]
    return TaggedPhoto(name, faces)


def _analyze(path: Path, name: str) -> list[AnalyzedFace]:
    """Detect and embed the faces of the image at path; raise ImageError with name in the message."""
    return pipeline().analyze(_read(path, name))


def _read(path: Path, name: str) -> np.ndarray:
    try:
        with path.open("rb") as stream:
            return load_image_array(stream, name=name, max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS)
    except ImageError:
        raise
    except OSError as error:
        raise ImageError(f"{name} could not be read ({error}). Check that the file is readable.") from None
    except Exception as error:
        # Anything else is a bug or a broken model, logged in full; the run goes on with the next file.
        logger.exception("Processing %s failed", name)
        raise ImageError(f"Processing {name} failed unexpectedly ({type(error).__name__}: {error}).") from None


def write_tags_file(output: Path, photos: list[TaggedPhoto], *, per_face: bool) -> None:
    """Write the per-file or per-face CSV to output, readable by its owner only, because it names people.

    The CSV goes to a temporary file first and is renamed, so a reader never sees a partial file.
    """
    write = write_face_csv if per_face else write_photo_csv
    # mkstemp creates the file with mode 0600, which os.replace keeps, also over an existing output.
    descriptor, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as stream:
            write(stream, photos)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def text_cell(value: str) -> str:
    """Return value with a leading single quote when a spreadsheet would evaluate it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def write_photo_csv(stream: TextIO, photos: list[TaggedPhoto]) -> None:
    """Write one row per file: its faces' count, the names found, the uncertain candidates and any error.

    Every text cell goes through text_cell, so no cell starts a spreadsheet formula.
    """
    writer = csv.writer(stream)
    writer.writerow(PHOTO_COLUMNS)
    for photo in photos:
        writer.writerow(
            [
                text_cell(photo.relative_path),
                "" if photo.error else len(photo.faces),
                text_cell(LIST_SEPARATOR.join(photo.names(Decision.MATCHED))),
                text_cell(LIST_SEPARATOR.join(photo.names(Decision.UNCERTAIN))),
                "" if photo.error else photo.count(Decision.UNKNOWN),
                text_cell(photo.error),
            ]
        )


def write_face_csv(stream: TextIO, photos: list[TaggedPhoto]) -> None:
    """Write one row per face, largest first within a photo, and one row with empty face columns
    for a file without faces or with an error, so that every file appears."""
    writer = csv.writer(stream)
    writer.writerow(FACE_COLUMNS)
    for photo in photos:
        if not photo.faces:
            writer.writerow([text_cell(photo.relative_path), *[""] * (len(FACE_COLUMNS) - 2), text_cell(photo.error)])
        for index, face in enumerate(photo.faces, start=1):
            result = face.classification
            writer.writerow(
                [
                    text_cell(photo.relative_path),
                    index,
                    face.box.x,
                    face.box.y,
                    face.box.width,
                    face.box.height,
                    result.decision.value,
                    text_cell(result.identity or ""),
                    # An unknown face's nearest person is too far to be a candidate.
                    text_cell(result.candidate if result.decision != Decision.UNKNOWN else ""),
                    "" if result.distance is None else f"{result.distance:.4f}",
                    text_cell(LIST_SEPARATOR.join(result.plausible)),
                    "",
                ]
            )

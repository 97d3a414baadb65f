"""Measure recognition on a labelled folder: names, strangers, detection recall, pairs.

A labelled folder is either described by a `manifest.csv` (the layout of the
shared test photos: relative_path, split, identity, n_faces_min) or laid out
as folders: one folder per person holding their enrollment images, plus
`query/<person>/`, `group/`, `distractors/`, `hard/` and `noface/`. Every
`pairs*.csv` beside them (file_x, file_y, decision Yes/No) is scored for its
equal error rate.

The scoring takes the faces that some pipeline found, so that the benchmark
can score another library with the same code. Imports nothing from Django.
"""

import csv
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recognition.classification import IdentityClassifier, Thresholds
from recognition.enrollment import choose_selfie_face
from recognition.imaging import ImageError, load_image_array
from recognition.schemas import AnalyzedFace, Classification

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
# Splits whose faces belong to no enrolled person, so any name given there is wrong.
STRANGER_SPLITS = ("distractor", "hard", "noface")
FOLDER_SPLITS = {"query": "query", "group": "group", "distractors": "distractor", "hard": "hard", "noface": "noface"}


@dataclass(frozen=True)
class LabelledImage:
    relative_path: str
    split: str
    """enrol, query, group, distractor, hard, variant or noface."""
    identities: tuple[str, ...] = ()
    """The enrolled people shown: the one person of an enrol or query image, those present in a group."""
    n_faces_min: int | None = None
    """How many clear faces a reasonable detector should find; None when not counted."""


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    same: bool


@dataclass
class Dataset:
    root: Path
    images: list[LabelledImage]
    pairs: dict[str, list[Pair]] = field(default_factory=dict)
    """Pairs by the name of the file that lists them."""

    def paths(self) -> list[str]:
        """Return every image to analyze: the labelled ones, then those only the pairs name."""
        paths = [image.relative_path for image in self.images]
        known = set(paths)
        for pairs in self.pairs.values():
            for pair in pairs:
                for path in (pair.first, pair.second):
                    if path not in known:
                        known.add(path)
                        paths.append(path)
        return paths


def load_dataset(root: Path) -> Dataset:
    """Read a labelled folder from its manifest.csv, or from its folder names."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of labelled photos.")

    manifest = root / "manifest.csv"
    images = _images_from_manifest(manifest) if manifest.exists() else _images_from_folders(root)
    pairs = {path.name: _read_pairs(path) for path in sorted(root.glob("pairs*.csv"))}
    return Dataset(root, images, pairs)


def _images_from_manifest(path: Path) -> list[LabelledImage]:
    with path.open(newline="") as stream:
        return [
            LabelledImage(
                relative_path=row["relative_path"],
                split=row["split"],
                identities=tuple(name for name in row.get("identity", "").split(";") if name),
                n_faces_min=int(row["n_faces_min"]) if row.get("n_faces_min") else None,
            )
            for row in csv.DictReader(stream)
        ]


def _images_from_folders(root: Path) -> list[LabelledImage]:
    images = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        split = FOLDER_SPLITS.get(folder.name)
        if split == "query":
            for person in sorted(path for path in folder.iterdir() if path.is_dir()):
                images += [_labelled(root, file, "query", (person.name,)) for file in _image_files(person)]
        elif split is not None:
            images += [_labelled(root, file, split, ()) for file in _image_files(folder)]
        else:
            images += [_labelled(root, file, "enrol", (folder.name,)) for file in _image_files(folder)]
    return images


def _labelled(root: Path, file: Path, split: str, identities: tuple[str, ...]) -> LabelledImage:
    n_faces_min = None
    if split == "noface":
        n_faces_min = 0
    elif split in ("enrol", "query", "distractor"):
        n_faces_min = 1
    return LabelledImage(file.relative_to(root).as_posix(), split, identities, n_faces_min)


def _image_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def _read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="") as stream:
        return [
            Pair(row["file_x"], row["file_y"], row["decision"].strip().lower() in ("yes", "true", "1"))
            for row in csv.DictReader(stream)
        ]


def analyze_dataset(
    dataset: Dataset,
    analyze: Callable[[np.ndarray], list[AnalyzedFace]],
    *,
    max_pixels: int = 80_000_000,
) -> tuple[dict[str, list[AnalyzedFace]], dict[str, str]]:
    """Run analyze on every image; return the faces by path and the errors by path."""
    analyses, errors = {}, {}
    for path in dataset.paths():
        file = _file_inside(dataset.root, path)
        if file is None:
            errors[path] = f"{path} is not a regular file inside {dataset.root}; list only files of that folder."
            continue
        try:
            image = load_image_array(file.read_bytes(), name=file.name, max_pixels=max_pixels)
        except (ImageError, OSError) as error:
            errors[path] = str(error)
            continue
        analyses[path] = analyze(image)
    return analyses, errors


def _file_inside(root: Path, relative_path: str) -> Path | None:
    """Return the regular file at relative_path under root, or None for anything else.

    A manifest or pairs file may come from someone else: "../" and absolute
    paths, devices and pipes are refused rather than read.
    """
    path = Path(os.path.normpath(root / relative_path))
    if not path.is_relative_to(Path(os.path.normpath(root))) or not path.is_file():
        return None
    return path


def evaluate(
    dataset: Dataset,
    analyses: dict[str, list[AnalyzedFace]],
    thresholds: Thresholds,
    neighbors: int = 3,
) -> dict:
    """Enroll the `enrol` images, classify every other face, and score the decisions.

    Returns a JSON-serializable report; docs/recognition.md explains each figure.
    """
    classifier, enrollment = _enroll(dataset, analyses, thresholds, neighbors)
    decisions = {
        image.relative_path: classifier.classify_faces(analyses[image.relative_path])
        for image in dataset.images
        if image.split != "enrol" and image.relative_path in analyses
    }

    return {
        "settings": {**asdict(thresholds), "neighbors": neighbors},
        "enrollment": enrollment,
        "queries": _score_queries(dataset, decisions),
        "wrong_names": _wrong_names(dataset, decisions),
        "strangers": _score_strangers(dataset, decisions),
        "detection": _score_detection(dataset, analyses),
        "closest_stranger": _closest_stranger(dataset, decisions),
        "pairs": {name: _score_pairs(pairs, analyses) for name, pairs in dataset.pairs.items()},
    }


def _enroll(
    dataset: Dataset, analyses: dict[str, list[AnalyzedFace]], thresholds: Thresholds, neighbors: int
) -> tuple[IdentityClassifier, dict]:
    vectors, labels, rejected, images = [], [], {}, 0
    for image in dataset.images:
        if image.split != "enrol" or image.relative_path not in analyses:
            continue
        try:
            face = choose_selfie_face(analyses[image.relative_path], Path(image.relative_path).name)
        except ImageError as error:
            rejected[image.relative_path] = str(error)
            continue
        images += 1
        for sample in (face.embedding, face.flipped_embedding):
            if sample is not None:
                vectors.append(sample)
                labels.append(image.identities[0])

    classifier = IdentityClassifier(thresholds, neighbors=neighbors)
    if vectors:
        classifier.fit(np.stack(vectors), labels)
    report = {"identities": len(set(labels)), "images": images, "samples": len(labels), "rejected": rejected}
    return classifier, report


def _images(dataset: Dataset, *splits: str) -> Iterable[LabelledImage]:
    return (image for image in dataset.images if image.split in splits)


def _score_queries(dataset: Dataset, decisions: dict[str, list[Classification]]) -> dict:
    """Score the main face of each query image: the largest, which the pipeline lists first."""
    outcomes: Counter[str] = Counter()
    not_named, genuine_distances = {}, []
    for image in _images(dataset, "query"):
        results = decisions.get(image.relative_path, [])
        outcome = _query_outcome(image.identities[0], results[0] if results else None)
        outcomes[outcome] += 1
        if results and results[0].candidate == image.identities[0]:
            genuine_distances.append((results[0].distance, image.relative_path))
        if outcome != "named":
            not_named[image.relative_path] = {
                "outcome": outcome,
                "candidate": results[0].candidate if results else None,
                "distance": _rounded(results[0].distance) if results else None,
            }

    total = sum(outcomes.values())
    top_candidate_right = outcomes["named"] + outcomes["uncertain_right_candidate"]
    return {
        "total": total,
        "named": outcomes["named"],
        "uncertain_right_candidate": outcomes["uncertain_right_candidate"],
        "rank1_accuracy": _share(top_candidate_right, total),
        "named_share": _share(outcomes["named"], total),
        "unknown_or_uncertain_share": _share(total - outcomes["named"] - outcomes["wrong_name"], total),
        "outcomes": dict(outcomes),
        "not_named": not_named,
        "farthest_right_candidates": [
            {"image": path, "distance": _rounded(distance)} for distance, path in sorted(genuine_distances)[-5:]
        ],
    }


def _query_outcome(person: str, result: Classification | None) -> str:
    if result is None:
        return "no_face_found"
    if result.identity == person:
        return "named"
    if result.identity is not None:
        return "wrong_name"
    if result.candidate == person:
        return "uncertain_right_candidate" if result.decision == "uncertain" else "unknown_right_candidate"
    return f"{result.decision}_wrong_candidate"


def _wrong_names(dataset: Dataset, decisions: dict[str, list[Classification]]) -> list[dict]:
    """List every face named as someone not in its photo, or named twice in one photo."""
    wrong = []
    for image in dataset.images:
        allowed = set() if image.split in STRANGER_SPLITS else set(image.identities)
        seen: set[str] = set()
        for index, result in enumerate(decisions.get(image.relative_path, [])):
            # The main face of a query is its person; any other face there is a bystander.
            expected = allowed if image.split != "query" or index == 0 else set()
            if result.identity is not None and (result.identity not in expected or result.identity in seen):
                wrong.append(
                    {
                        "image": image.relative_path,
                        "face": index,
                        "name": result.identity,
                        "distance": _rounded(result.distance),
                    }
                )
            if result.identity is not None:
                seen.add(result.identity)
    return wrong


def _score_strangers(dataset: Dataset, decisions: dict[str, list[Classification]]) -> dict:
    faces = named = 0
    for image in _images(dataset, *STRANGER_SPLITS):
        for result in decisions.get(image.relative_path, []):
            faces += 1
            named += result.identity is not None
    return {"faces": faces, "named": named, "named_share": _share(named, faces)}


def _closest_stranger(dataset: Dataset, decisions: dict[str, list[Classification]]) -> dict | None:
    """Find the stranger face nearest to an enrolled person: the match threshold must stay under its distance."""
    closest = None
    for image in _images(dataset, *STRANGER_SPLITS):
        for index, result in enumerate(decisions.get(image.relative_path, [])):
            if result.distance is not None and (closest is None or _rounded(result.distance) < closest["distance"]):
                closest = {
                    "image": image.relative_path,
                    "face": index,
                    "candidate": result.candidate,
                    "distance": result.distance,
                }
    if closest is not None:
        closest["distance"] = _rounded(closest["distance"])
    return closest


def _score_detection(dataset: Dataset, analyses: dict[str, list[AnalyzedFace]]) -> dict:
    """Faces found against n_faces_min, counting at most n_faces_min per photo."""
    by_split: dict[str, dict] = {}
    for image in dataset.images:
        if image.n_faces_min is None or image.relative_path not in analyses:
            continue
        found = len(analyses[image.relative_path])
        split = by_split.setdefault(image.split, {"expected": 0, "found": 0, "extra": 0, "short": {}})
        split["expected"] += image.n_faces_min
        split["found"] += min(found, image.n_faces_min)
        split["extra"] += max(0, found - image.n_faces_min)
        if found < image.n_faces_min:
            split["short"][image.relative_path] = {"expected": image.n_faces_min, "found": found}

    for split in by_split.values():
        split["recall"] = _share(split["found"], split["expected"])
    return dict(sorted(by_split.items()))


def _score_pairs(pairs: list[Pair], analyses: dict[str, list[AnalyzedFace]]) -> dict:
    """Distances between the largest faces of each pair, and the equal error rate."""
    same, different, skipped = [], [], 0
    for pair in pairs:
        first, second = analyses.get(pair.first), analyses.get(pair.second)
        if not first or not second:
            skipped += 1
            continue
        distance = float(np.linalg.norm(first[0].embedding - second[0].embedding))
        (same if pair.same else different).append(distance)

    report = {"same": len(same), "different": len(different), "skipped": skipped}
    if same and different:
        report.update(equal_error_rate(np.array(same), np.array(different)))
        report["largest_same"] = _rounded(max(same))
        report["smallest_different"] = _rounded(min(different))
    return report


def equal_error_rate(same: np.ndarray, different: np.ndarray) -> dict:
    """Find the threshold where false rejections of same pairs equal false accepts of different ones."""
    thresholds = np.unique(np.concatenate([same, different]))
    false_reject = np.array([(same > threshold).mean() for threshold in thresholds])
    false_accept = np.array([(different <= threshold).mean() for threshold in thresholds])
    best = int(np.argmin(np.abs(false_reject - false_accept)))
    return {
        "equal_error_rate": _rounded((false_reject[best] + false_accept[best]) / 2),
        "at_threshold": _rounded(thresholds[best]),
    }


def _face_report(image: LabelledImage, index: int, result: Classification, **extra) -> dict:
    return {"image": image.relative_path, "face": index, **extra, "distance": _rounded(result.distance)}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)

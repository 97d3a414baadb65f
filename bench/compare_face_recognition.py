"""Compare Facegate's pipeline with the face_recognition library (dlib) on the same photos.

Usage:
    python bench/compare_face_recognition.py [--faces-dir DIR] [--model-dir DIR] [--output FILE]

Needs the packages of bench/requirements.txt besides the project's own. Each
library runs in its own child process (multiprocessing, spawn), one after the
other, so that their peak memory is measured apart. Both children decode every
photo with recognition.imaging.load_image_array, and the parent checks that
they saw the same pixels. For each library the report gives model load time,
photos per second, detection ms per photo, encoder ms per face and peak memory,
then the scores of recognition.evaluation.evaluate on the faces it found.
Prints the report as JSON. Imports nothing from Django.
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.classification import Thresholds  # noqa: E402
from recognition.evaluation import Dataset, evaluate, load_dataset  # noqa: E402
from recognition.imaging import load_image_array  # noqa: E402
from recognition.schemas import AnalyzedFace, Box, DetectedFace  # noqa: E402

MAX_PIXELS = 80_000_000
# face_recognition's documented default tolerance for compare_faces: the
# Euclidean distance between two encodings at or below which they match.
DLIB_TOLERANCE = 0.6
# Candidate match thresholds for the calibration, in steps of 0.01.
CALIBRATION_GRID = np.round(np.arange(0.20, 1.61, 0.01), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces", help="labelled photo folder"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("FACEGATE_MODEL_DIR", ROOT / "var" / "models")),
        help="folder of the converted FaceNet model (default: FACEGATE_MODEL_DIR, else var/models)",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON report to this file")
    arguments = parser.parse_args()

    load_at_start = os.getloadavg()
    dataset = load_dataset(arguments.faces_dir)
    jobs = _photo_jobs(dataset)

    # spawn starts each child from a fresh interpreter, so neither inherits
    # the other's models or allocations and ru_maxrss is the library's own.
    context = multiprocessing.get_context("spawn")
    runs = {}
    for name, target in (("facegate", run_facegate), ("face_recognition", run_face_recognition)):
        with context.Pool(processes=1) as pool:
            runs[name] = pool.apply(target, (arguments.faces_dir, jobs, arguments.model_dir))

    if runs["facegate"]["pixels_sha256"] != runs["face_recognition"]["pixels_sha256"]:
        raise RuntimeError("The two children decoded different pixels; the comparison would not be on the same photos.")

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "load_average_1_5_15_min": {"start": load_at_start, "end": os.getloadavg()},
        "photos": len(jobs),
        "performance": {name: run["performance"] for name, run in runs.items()},
        "accuracy": _accuracy(dataset, {name: run["analyses"] for name, run in runs.items()}),
        "face_recognition_encoding_norms": runs["face_recognition"]["encoding_norms"],
    }

    text = json.dumps(report, indent=2)
    print(text)
    if arguments.output is not None:
        arguments.output.write_text(text + "\n")


def _photo_jobs(dataset: Dataset) -> list[tuple[str, bool]]:
    """List every photo to analyze, with whether to embed its faces mirrored too.

    Only enrollment images get the mirrored embedding, as selfies do in the
    application, so both libraries do the same extra work on the same photos.
    """
    enrol = {image.relative_path for image in dataset.images if image.split == "enrol"}
    return [(path, path in enrol) for path in dataset.paths()]


# --- Children -------------------------------------------------------------


def run_facegate(faces_dir: Path, jobs: list[tuple[str, bool]], model_dir: Path) -> dict:
    """Analyze every photo with FacePipeline.analyze, timing detection and FaceNet inside it."""
    from recognition.pipeline import PipelineConfig, get_pipeline

    started = time.perf_counter()
    pipeline = get_pipeline(PipelineConfig(model_dir=model_dir))
    load_seconds = time.perf_counter() - started

    # Instance attributes shadow the methods, so analyze() calls the timed
    # versions and nothing under recognition/ changes for the benchmark.
    detect_timer = _Timer(pipeline.detector.detect)
    embed_timer = _Timer(pipeline.embedder.embed, lambda crops: len(crops))
    pipeline.detector.detect = detect_timer
    pipeline.embedder.embed = embed_timer

    def analyze(image: np.ndarray, flipped: bool) -> list[AnalyzedFace]:
        return pipeline.analyze(image, flipped=flipped)

    run = _analyze_all(faces_dir, jobs, analyze)
    run["performance"] = _performance(run, load_seconds, detect_timer, embed_timer)
    run["performance"]["library"] = "Facegate: MTCNN (OpenCV DNN) + FaceNet 512-d (onnxruntime)"
    return run


def run_face_recognition(faces_dir: Path, jobs: list[tuple[str, bool]], model_dir: Path) -> dict:
    """Analyze every photo with face_locations(model="hog") then face_encodings."""
    started = time.perf_counter()
    import face_recognition

    load_seconds = time.perf_counter() - started

    detect_timer = _Timer(lambda image: face_recognition.face_locations(image, model="hog"))
    encode_timer = _Timer(face_recognition.face_encodings, lambda image, locations: len(locations))
    norms: list[float] = []

    def analyze(image: np.ndarray, flipped: bool) -> list[AnalyzedFace]:
        locations = detect_timer(image)
        encodings = encode_timer(image, locations)
        mirrored = [None] * len(locations)
        if flipped and locations:
            mirrored = encode_timer(*_mirrored(image, locations))
        norms.extend(float(np.linalg.norm(encoding)) for encoding in encodings)

        faces = [
            AnalyzedFace(_detected_face(location), _float32(encoding), None if flip is None else _float32(flip))
            for location, encoding, flip in zip(locations, encodings, mirrored, strict=True)
        ]
        # The scoring takes the first face as a photo's main one, as FacePipeline lists them.
        return sorted(faces, key=lambda item: item.face.box.area, reverse=True)

    run = _analyze_all(faces_dir, jobs, analyze)
    run["performance"] = _performance(run, load_seconds, detect_timer, encode_timer)
    run["performance"]["library"] = (
        f"face_recognition {_version('face_recognition')}: dlib {_version('dlib')} HOG detector "
        "(upsampled once) + 5-point landmarks + ResNet 128-d"
    )
    run["encoding_norms"] = {
        "count": len(norms),
        "min": round(min(norms), 3) if norms else None,
        "mean": round(float(np.mean(norms)), 3) if norms else None,
        "max": round(max(norms), 3) if norms else None,
    }
    return run


class _Timer:
    """Wrap a callable, adding up the wall-clock and CPU seconds spent in it and the items it was given.

    items returns how many faces one call's arguments hold. Only the count is
    kept, because keeping the images would inflate the peak memory.
    """

    def __init__(self, function: Callable, items: Callable[..., int] = lambda *arguments: 1) -> None:
        self.function = function
        self.items = items
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.count = 0

    def __call__(self, *arguments, **keywords):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = self.function(*arguments, **keywords)
        self.seconds += time.perf_counter() - began
        self.cpu_seconds += time.process_time() - began_cpu
        self.count += self.items(*arguments)
        return result


def _analyze_all(
    faces_dir: Path, jobs: list[tuple[str, bool]], analyze: Callable[[np.ndarray, bool], list[AnalyzedFace]]
) -> dict:
    """Decode and analyze each photo in turn, so that only one decoded photo is held at a time."""
    analyses: dict[str, list[AnalyzedFace]] = {}
    pixels_hash = hashlib.sha256()
    decode_seconds = analyze_seconds = analyze_cpu_seconds = 0.0

    for path, flipped in jobs:
        file = faces_dir / path
        began = time.perf_counter()
        image = load_image_array(file.read_bytes(), name=file.name, max_pixels=MAX_PIXELS)
        decode_seconds += time.perf_counter() - began

        began, began_cpu = time.perf_counter(), time.process_time()
        analyses[path] = analyze(image, flipped)
        analyze_seconds += time.perf_counter() - began
        analyze_cpu_seconds += time.process_time() - began_cpu

        pixels_hash.update(path.encode())
        pixels_hash.update(np.ascontiguousarray(image).tobytes())

    return {
        "analyses": analyses,
        "decode_seconds": decode_seconds,
        "analyze_seconds": analyze_seconds,
        "analyze_cpu_seconds": analyze_cpu_seconds,
        "pixels_sha256": pixels_hash.hexdigest(),
    }


def _performance(run: dict, load_seconds: float, detect: _Timer, encode: _Timer) -> dict:
    """Compute one child's timings and peak memory. encode.count includes the mirrored crops.

    CPU seconds add up every thread of the process (time.process_time), so
    they change less than wall-clock seconds when other programs share the cores.
    """
    photos = len(run["analyses"])
    faces = sum(len(faces) for faces in run["analyses"].values())
    encoded = max(encode.count, 1)
    return {
        "model_load_s": round(load_seconds, 2),
        "photos": photos,
        "faces_found": faces,
        "faces_encoded": encode.count,
        "analysis_s": round(run["analyze_seconds"], 1),
        "photos_per_s": round(photos / run["analyze_seconds"], 2),
        "analysis_ms_per_photo": round(run["analyze_seconds"] / photos * 1000, 1),
        "analysis_cpu_ms_per_photo": round(run["analyze_cpu_seconds"] / photos * 1000, 1),
        "detection_ms_per_photo": round(detect.seconds / photos * 1000, 1),
        "detection_cpu_ms_per_photo": round(detect.cpu_seconds / photos * 1000, 1),
        "encoder_ms_per_face": round(encode.seconds / encoded * 1000, 1),
        "encoder_cpu_ms_per_face": round(encode.cpu_seconds / encoded * 1000, 1),
        "decode_ms_per_photo": round(run["decode_seconds"] / photos * 1000, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _mirrored(image: np.ndarray, locations: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, list[tuple]]:
    """Mirror the image left to right and return it with the face locations (top, right, bottom, left) in it."""
    width = image.shape[1]
    mirrored = np.ascontiguousarray(image[:, ::-1])
    return mirrored, [(top, width - left, bottom, width - right) for top, right, bottom, left in locations]


def _detected_face(location: tuple[int, int, int, int]) -> DetectedFace:
    top, right, bottom, left = location
    # NOTE: face_locations returns no score and clips boxes to the image, so
    # confidence is 1.0 and cut_off stays 0 for every dlib face.
    return DetectedFace(box=Box(left, top, right - left, bottom - top), confidence=1.0)


def _float32(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in (package, f"{package}-bin"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "unknown"


# --- Scoring --------------------------------------------------------------


def _accuracy(dataset: Dataset, analyses: dict[str, dict[str, list[AnalyzedFace]]]) -> dict:
    """Score both libraries with the same evaluate(), at their default and calibrated thresholds.

    face_recognition's encodings are not unit vectors (their norms are in the
    report), so its tolerance is scored twice: on the raw encodings, as
    compare_faces applies it, and on the encodings scaled to unit length, as
    Facegate's classifier expects them. Its calibrated figures use unit vectors.
    """
    ours = Thresholds()
    dlib_default = _proportional(ours, DLIB_TOLERANCE)
    dlib_raw = analyses["face_recognition"]
    dlib_unit = {path: [_with_unit_embeddings(face) for face in faces] for path, faces in dlib_raw.items()}

    reports = {
        "facegate_default": _summary(evaluate(dataset, analyses["facegate"], ours), ours),
        "facegate_calibrated": _calibrated_summary(dataset, analyses["facegate"], ours),
        "face_recognition_tolerance_0.6_raw": _summary(evaluate(dataset, dlib_raw, dlib_default), dlib_default),
        "face_recognition_tolerance_0.6_unit": _summary(evaluate(dataset, dlib_unit, dlib_default), dlib_default),
        "face_recognition_calibrated": _calibrated_summary(dataset, dlib_unit, ours),
    }
    return reports


def _with_unit_embeddings(face: AnalyzedFace) -> AnalyzedFace:
    flipped = None if face.flipped_embedding is None else _unit(face.flipped_embedding)
    return replace(face, embedding=_unit(face.embedding), flipped_embedding=flipped)


def _proportional(reference: Thresholds, match: float) -> Thresholds:
    """Return thresholds with the given match distance, and the uncertain band and margin scaled in proportion."""
    factor = match / reference.match
    return replace(
        reference,
        match=match,
        uncertain=round(reference.uncertain * factor, 3),
        margin=round(reference.margin * factor, 3),
    )


def _calibrated_summary(dataset: Dataset, analyses: dict[str, list[AnalyzedFace]], reference: Thresholds) -> dict:
    """Score at the largest match threshold below the first one on the grid that names a stranger.

    This is how Facegate's own 0.85 was chosen: below the closest stranger on
    this set. The uncertain threshold and margin follow in proportion. The
    scan stops at the first stranger named, because with the uncertain band
    widened in proportion, far-away selfies start voting and a much larger
    threshold can again name no stranger by chance. The same scan for no
    wrong name at all, queries and group photos included, is reported beside it.
    """
    no_stranger = None
    no_wrong_name = None
    wrong_name_seen = False
    for match in CALIBRATION_GRID:
        thresholds = _proportional(reference, float(match))
        report = evaluate(dataset, analyses, thresholds)
        wrong_name_seen = wrong_name_seen or bool(report["wrong_names"])
        if not wrong_name_seen:
            no_wrong_name = thresholds
        if report["strangers"]["named"]:
            break
        no_stranger = (thresholds, report)

    if no_stranger is None:
        return {"thresholds": None, "note": f"the smallest threshold, {CALIBRATION_GRID[0]}, already names a stranger"}
    summary = _summary(no_stranger[1], no_stranger[0])
    summary["largest_match_without_wrong_names"] = None if no_wrong_name is None else no_wrong_name.match
    return summary


def _summary(report: dict, thresholds: Thresholds) -> dict:
    """Pick the figures of the comparison table, followed by the full report."""
    queries, detection = report["queries"], report["detection"]
    expected = sum(split["expected"] for split in detection.values())
    found = sum(split["found"] for split in detection.values())
    return {
        "thresholds": {"match": thresholds.match, "uncertain": thresholds.uncertain, "margin": thresholds.margin},
        "rank1_accuracy": queries["rank1_accuracy"],
        "queries_named": f"{queries['named']}/{queries['total']}",
        "queries_unknown_or_uncertain_share": queries["unknown_or_uncertain_share"],
        "strangers_named_share": report["strangers"]["named_share"],
        "wrong_names": len(report["wrong_names"]),
        "detection_recall": round(found / expected, 4) if expected else None,
        "detection_found_expected": f"{found}/{expected}",
        "equal_error_rate": {name: pairs.get("equal_error_rate") for name, pairs in report["pairs"].items()},
        "report": report,
    }


def _machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB, Python {platform.python_version()}"


if __name__ == "__main__":
    main()

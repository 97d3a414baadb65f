"""Detection plus embedding of one image, with the models loaded once per process.

Imports nothing from Django: the service module passes the configuration in.
"""

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from recognition.conversion import convert_facenet
from recognition.detection import DUPLICATE_OVERLAP, FaceDetector, overlap_of_smaller
from recognition.embedding import FaceEmbedder, crop_face
from recognition.schemas import AnalyzedFace, Box, DetectedFace

logger = logging.getLogger(__name__)

FACENET_ONNX_NAME = "facenet-20180408-102900-batched.onnx"


@dataclass(frozen=True)
class PipelineConfig:
    model_dir: Path
    detector_runtime: str = "opencv"
    detection_max_side: int = 1280
    detection_fine_side: int = 2560
    min_face_pixels: int = 20
    min_detection_confidence: float = 0.90
    detect_all_turns: bool = True
    edge_padding: float = 0.10


class FacePipeline:
    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, *, all_turns: bool = True) -> None:
        self.detector = detector
        self.embedder = embedder
        self.all_turns = all_turns
        # OpenCV DNN networks are not safe to share between threads.
        self._lock = threading.Lock()

    def analyze(self, image: np.ndarray, *, flipped: bool = False) -> list[AnalyzedFace]:
        """Detect every face in an RGB image and embed each one, largest first.

        Besides the upright image, the three other quarter turns are searched,
        because MTCNN rarely finds faces lying on their side or upside down:
        a photo may be stored rotated without an EXIF orientation, or show a
        person lying down. With all_turns off, the turns are searched only
        when no upright face is found. A face found in several turns is kept
        from the most confident one. Boxes come back in the image's pixels.

        flipped=True also embeds each face mirrored left to right, which
        enrollment adds as a second selfie (docs/recognition.md, "Decisions").
        """
        with self._lock:
            found = [_Found(face, 0, image) for face in self.detector.detect(image)]
            if self.all_turns or not found:
                found += self._find_in_turns(image)
            found = _deduplicate_across_turns(found, *image.shape[:2])
            if not found:
                return []

            crops = np.stack([crop_face(item.view, item.face.box) for item in found])
            if flipped:
                crops = np.concatenate([crops, crops[:, :, ::-1, :]])
            embeddings = self.embedder.embed(crops)

        height, width = image.shape[:2]
        faces = [_turn_back(item.face, item.turns, width, height) for item in found]
        mirrored = embeddings[len(found) :] if flipped else [None] * len(found)
        return [
            AnalyzedFace(face, embedding, flipped_embedding)
            for face, embedding, flipped_embedding in zip(faces, embeddings[: len(found)], mirrored, strict=True)
        ]

    def _find_in_turns(self, image: np.ndarray) -> list["_Found"]:
        found = []
        for turns in RETRY_QUARTER_TURNS:
            view = np.ascontiguousarray(np.rot90(image, turns))
            faces = self.detector.detect(view, fine=False, max_side=TURNED_SEARCH_SIDE)
            found += [_Found(face, turns, view) for face in faces]
        return found


@dataclass(frozen=True)
class _Found:
    """A face as detected in the image turned by np.rot90(image, turns), which is view."""

    face: DetectedFace
    turns: int
    view: np.ndarray


def _deduplicate_across_turns(found: list[_Found], height: int, width: int) -> list[_Found]:
    """Keep one detection per face, the most confident across turns, largest faces first."""
    ranked = sorted(found, key=lambda item: (item.face.confidence, item.turns == 0), reverse=True)
    selected: list[tuple[_Found, Box]] = []
    for item in ranked:
        box = _turn_back(item.face, item.turns, width, height).box
        if all(overlap_of_smaller(box, other_box) < DUPLICATE_OVERLAP for _, other_box in selected):
            selected.append((item, box))
    return [item for item, box in sorted(selected, key=lambda pair: pair[1].area, reverse=True)]


# Quarter turns counterclockwise (np.rot90) searched besides the upright image.
RETRY_QUARTER_TURNS = (1, 3, 2)
# The turned searches look for people lying down or photos stored turned, whose
# faces are rarely tiny, on a smaller copy: this keeps their cost to about a
# third of the upright search's.
TURNED_SEARCH_SIDE = 800


def _turn_back(face: DetectedFace, turns: int, width: int, height: int) -> DetectedFace:
    """Map a face found in the image turned by np.rot90(image, turns) to the image's own pixels."""
    if turns == 0:
        return face

    def point(x: float, y: float) -> tuple[float, float]:
        if turns == 1:
            return width - y, x
        if turns == 2:
            return width - x, height - y
        return y, height - x

    box = face.box
    (x1, y1), (x2, y2) = point(box.x, box.y), point(box.x + box.width, box.y + box.height)
    turned_box = Box(round(min(x1, x2)), round(min(y1, y2)), round(abs(x2 - x1)), round(abs(y2 - y1)))
    landmarks = {name: point(x, y) for name, (x, y) in face.landmarks.items()}
    return replace(face, box=turned_box, landmarks=landmarks)


_pipelines: dict[PipelineConfig, FacePipeline] = {}
_pipelines_lock = threading.Lock()


def get_pipeline(config: PipelineConfig) -> FacePipeline:
    """Return the process-wide pipeline for config, loading the models on first use."""
    with _pipelines_lock:
        if config not in _pipelines:
            _pipelines[config] = _load_pipeline(config)
        return _pipelines[config]


def facenet_model_path(model_dir: Path) -> Path:
    """Return the ONNX FaceNet model, converting it first if it is missing."""
    path = model_dir / FACENET_ONNX_NAME
    if not path.exists():
        convert_facenet(path)
    return path


def _load_pipeline(config: PipelineConfig) -> FacePipeline:
    started = time.monotonic()

    detector = FaceDetector(
        config.detector_runtime,
        max_side=config.detection_max_side,
        fine_side=config.detection_fine_side,
        min_face_pixels=config.min_face_pixels,
        min_confidence=config.min_detection_confidence,
        edge_padding=config.edge_padding,
    )
    embedder = FaceEmbedder(facenet_model_path(config.model_dir))

    logger.info(
        "Loaded face pipeline (MTCNN on %s, FaceNet on onnxruntime) in %.1f s",
        config.detector_runtime,
        time.monotonic() - started,
    )
    return FacePipeline(detector, embedder, all_turns=config.detect_all_turns)

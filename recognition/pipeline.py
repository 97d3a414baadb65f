"""Detection plus embedding of one image, with the models loaded once per process.

Imports nothing from Django: the service module passes the configuration in.
"""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognition.conversion import convert_facenet
from recognition.detection import FaceDetector
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


class FacePipeline:
    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder) -> None:
        self.detector = detector
        self.embedder = embedder
        # OpenCV DNN networks are not safe to share between threads.
        self._lock = threading.Lock()

    def analyze(self, image: np.ndarray) -> list[AnalyzedFace]:
        """Detect every face in an RGB image and embed each one, largest first.

        When the upright image shows no face, the three other quarter turns
        are tried, because MTCNN rarely finds faces lying on their side or
        upside down, and a photo may be stored rotated without an EXIF
        orientation. The turn whose faces have the highest summed confidence
        wins: a face on its side sometimes yields a weak detection too.
        Boxes always come back in the given image's pixels.
        """
        with self._lock:
            turns, view, faces = 0, image, self.detector.detect(image)
            if not faces:
                turns, view, faces = self._best_turn(image)
            if not faces:
                return []

            crops = np.stack([crop_face(view, face.box) for face in faces])
            embeddings = self.embedder.embed(crops)

        height, width = image.shape[:2]
        faces = [_turn_back(face, turns, width, height) for face in faces]
        return [AnalyzedFace(face, embedding) for face, embedding in zip(faces, embeddings, strict=True)]

    def _best_turn(self, image: np.ndarray) -> tuple[int, np.ndarray, list[DetectedFace]]:
        best = (0, image, [])
        for turns in RETRY_QUARTER_TURNS:
            view = np.ascontiguousarray(np.rot90(image, turns))
            faces = self.detector.detect(view, fine=False)
            if sum(face.confidence for face in faces) > sum(face.confidence for face in best[2]):
                best = (turns, view, faces)
        return best


# Quarter turns counterclockwise (np.rot90) tried when an image shows no face.
RETRY_QUARTER_TURNS = (1, 3, 2)


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
    return DetectedFace(box=turned_box, confidence=face.confidence, landmarks=landmarks)


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
    )
    embedder = FaceEmbedder(facenet_model_path(config.model_dir))

    logger.info(
        "Loaded face pipeline (MTCNN on %s, FaceNet on onnxruntime) in %.1f s",
        config.detector_runtime,
        time.monotonic() - started,
    )
    return FacePipeline(detector, embedder)

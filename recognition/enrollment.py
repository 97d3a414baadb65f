"""Selfie checks: one clear face, large enough, sharp and facing the camera.

Each check raises an ImageError whose message names the file and explains
how to take a better selfie. The thresholds were measured with
bench/selfie_quality.py on the shared test photos, and docs/recognition.md
lists the values and the margins they leave.

Imports nothing from Django, so that tests and benchmarks can use it alone.
"""

import cv2
import numpy as np

from recognition.imaging import ImageError
from recognition.schemas import AnalyzedFace, Box, DetectedFace

# A second face in a selfie is ignored as a bystander when its box is smaller
# than this share of the largest face's box area (half the width or less).
BYSTANDER_AREA_RATIO = 0.25

# A selfie whose face the frame cuts by more than this share is rejected, as
# such a face is never named in a photo either: its embedding is unreliable.
MAX_CUT_OFF = 0.25

# Box width in pixels of the image. The enrol test photos were shrunk until
# their faces had a given width. Their embeddings then moved from the
# full-size ones by a median L2 distance of 0.20 at 160 px, 0.22 at 64 px,
# 0.26 at 48 px and 0.47 at 32 px. The drift grows sharply only below 48 px,
# and 64 px keeps one step above that. The smallest enrol or query test
# photo's face is 96 px wide.
MIN_FACE_WIDTH = 64

# Sharpness is the variance of the Laplacian of the grayscale face box resized
# to SHARPNESS_SIDE × SHARPNESS_SIDE pixels, so that values compare across
# photo resolutions. The enrol and query test photos score 437 or more, a blurred
# portrait 56, and 150 is close to the geometric mean of the two.
SHARPNESS_SIDE = 64
MIN_SHARPNESS = 150.0

# Yaw is the nose's offset from the midpoint of the eyes along the eye line,
# in eye distances: 0 when facing the camera, growing as the head turns.
# The enrol and query test photos stay within 0.28, two profiles score 0.50 and
# 0.77, and 0.40 leaves a margin of about 0.1 on each side.
# Roll is not bounded, because the pipeline finds faces at any quarter turn.
MAX_YAW = 0.40


def choose_selfie_face(faces: list[AnalyzedFace], name: str, image: np.ndarray | None = None) -> AnalyzedFace:
    """Return the selfie's one clear face, ignoring much smaller bystanders.

    Raises ImageError when there is no face, several comparable faces, or
    when the face is cut off by the frame, too small, too blurred or turned
    too far. The blur
    check needs the RGB image and is skipped when image is None.
    """
    face = _one_clear_face(faces, name)

    check_whole_face(face.face, name)
    check_face_size(face.face, name)
    if image is not None:
        check_sharpness(image, face.face, name)
    check_yaw(face.face, name)
    return face


def check_whole_face(face: DetectedFace, name: str) -> None:
    if face.cut_off > MAX_CUT_OFF:
        raise ImageError(
            f"The face in {name} is cut off by the edge of the photo. "
            "Take a selfie with your whole face in the middle of the picture."
        )


def check_face_size(face: DetectedFace, name: str) -> None:
    if face.box.width < MIN_FACE_WIDTH:
        raise ImageError(
            f"The face in {name} is {face.box.width} pixels wide, smaller than the minimum of "
            f"{MIN_FACE_WIDTH}. Move closer to the camera, or upload the full-size photo instead of a "
            "reduced copy."
        )


def check_sharpness(image: np.ndarray, face: DetectedFace, name: str) -> None:
    sharpness = face_sharpness(image, face.box)
    if sharpness < MIN_SHARPNESS:
        raise ImageError(
            f"The face in {name} is too blurred to recognize (sharpness {sharpness:.0f}, minimum "
            f"{MIN_SHARPNESS:.0f}). Hold the camera still, let it focus on your face, and take the "
            "selfie in good light."
        )


def check_yaw(face: DetectedFace, name: str) -> None:
    yaw = face_yaw(face)
    if yaw is not None and abs(yaw) > MAX_YAW:
        raise ImageError(
            f"The face in {name} is turned too far to the side. Look straight at the camera, "
            "so that both eyes and both sides of your face are visible."
        )


def face_sharpness(image: np.ndarray, box: Box) -> float:
    """Return the variance of the Laplacian of the face box, grayscale, at SHARPNESS_SIDE pixels square."""
    height, width = image.shape[:2]
    crop = image[max(0, box.y) : min(height, box.y + box.height), max(0, box.x) : min(width, box.x + box.width)]
    if crop.size == 0:
        raise ValueError(f"Face box {box} lies outside the {width}×{height} image.")

    gray = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    gray = cv2.resize(gray, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def face_yaw(face: DetectedFace) -> float | None:
    """Return the nose's offset from the eyes' midpoint along the eye line, in eye distances.

    Positive when the nose lies towards the right eye landmark. Projecting on
    the eye line makes the value independent of roll. Returns None when the
    face has no eye and nose landmarks, or its eyes coincide.
    """
    try:
        left_eye, right_eye, nose = (np.array(face.landmarks[key]) for key in ("left_eye", "right_eye", "nose"))
    except KeyError:
        return None

    eye_line = right_eye - left_eye
    eye_distance_squared = float(np.dot(eye_line, eye_line))
    if eye_distance_squared == 0:
        return None
    return float(np.dot(nose - (left_eye + right_eye) / 2, eye_line)) / eye_distance_squared


def _one_clear_face(faces: list[AnalyzedFace], name: str) -> AnalyzedFace:
    if not faces:
        raise ImageError(
            f"No face was found in {name}. Take a selfie facing the camera, "
            "in good light, with your whole face in the picture."
        )

    largest = faces[0]
    comparable = [face for face in faces[1:] if face.face.box.area >= BYSTANDER_AREA_RATIO * largest.face.box.area]
    if comparable:
        raise ImageError(
            f"{name} shows {len(comparable) + 1} faces of similar size, so Facegate cannot tell "
            "which one is you. Take a selfie with only your face in the picture."
        )
    return largest

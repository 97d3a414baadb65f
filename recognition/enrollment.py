"""Which face of a selfie to enroll. Imports nothing from Django."""

from recognition.imaging import ImageError
from recognition.schemas import AnalyzedFace

# A second face in a selfie is ignored as a bystander when its box is smaller
# than this share of the largest face's box area (half the width or less).
BYSTANDER_AREA_RATIO = 0.25


def choose_selfie_face(faces: list[AnalyzedFace], name: str) -> AnalyzedFace:
    """Return the selfie's one clear face, ignoring much smaller bystanders."""
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

"""Typed results passed between the recognition modules."""

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Box:
    """A face's bounding box in pixels of the upright image: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def scaled(self, factor: float) -> "Box":
        return Box(
            round(self.x * factor),
            round(self.y * factor),
            round(self.width * factor),
            round(self.height * factor),
        )


@dataclass(frozen=True)
class DetectedFace:
    box: Box
    confidence: float
    """MTCNN's output-network probability that the box contains a face, 0 to 1."""
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)
    """The five MTCNN landmarks (LANDMARK_NAMES) as (x, y) pixels of the upright image."""
    cut_off: float = 0.0
    """The share of the face's box that the frame cut off, 0 to 1. The box is the part inside."""


@dataclass(frozen=True)
class AnalyzedFace:
    face: DetectedFace
    embedding: np.ndarray
    """The L2-normalized 512-d FaceNet embedding, float32."""
    flipped_embedding: np.ndarray | None = None
    """The embedding of the face mirrored left to right, when asked for."""


class Decision(StrEnum):
    MATCHED = "matched"
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classification:
    decision: Decision
    identity: str | None
    """The named identity; set only when decision is MATCHED."""
    candidate: str | None
    """The nearest enrolled identity, for a reviewer; None when no one is enrolled."""
    distance: float | None
    """L2 distance between unit embeddings from the face to the candidate's nearest selfie."""
    plausible: tuple[str, ...] = ()
    """Every identity within the uncertain threshold, the named one included.
    The consent rule applies all their choices, so that a look-alike or a
    copied selfie cannot unveil a person who chose to hide."""

"""Open-set identification: KNN over enrolled selfies with a distance threshold.

A face is named only when it is close to one enrolled identity, clearly closer
to it than to any other, and its k nearest selfies vote for that identity.
A face far from everyone is unknown; everything in between is uncertain and
waits for a reviewer. A wrong name is the worst outcome here, because it can
show a person who chose to hide, so every doubt resolves to "uncertain".

Imports nothing from Django, so that tests and benchmarks can use it alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from recognition.schemas import AnalyzedFace, Classification, Decision


@dataclass(frozen=True)
class Thresholds:
    """L2 distances between unit FaceNet embeddings (0 = same, 2 = opposite)."""

    match: float = 0.85
    """Largest distance to the nearest selfie at which a face may be named."""
    uncertain: float = 1.10
    """Largest distance at which a face is still worth a reviewer's look."""
    margin: float = 0.05
    """How much nearer the named identity must be than the next identity."""
    min_face_width: int = 48
    """Narrowest face box, in pixels of the photo, that may be named."""
    max_cut_off: float = 0.25
    """Largest share of a face's box cut off by the frame at which it may be named."""

    def no_looser_than(self, limit: "Thresholds") -> "Thresholds":
        """Return these thresholds, tightened wherever they would name more faces than limit's."""
        return Thresholds(
            match=min(self.match, limit.match),
            uncertain=self.uncertain,
            margin=max(self.margin, limit.margin),
            min_face_width=max(self.min_face_width, limit.min_face_width),
            max_cut_off=min(self.max_cut_off, limit.max_cut_off),
        )

    def allow_name(self, box_width: int, cut_off: float) -> bool:
        """Tell whether a face is large and whole enough for its embedding to be trusted with a name."""
        return box_width >= self.min_face_width and cut_off <= self.max_cut_off


class IdentityClassifier:
    """KNN classifier over the enrolled identities of one event."""

    def __init__(self, thresholds: Thresholds, *, neighbors: int = 3) -> None:
        self.thresholds = thresholds
        self.neighbors = neighbors
        self._embeddings = np.zeros((0, 0), dtype=np.float32)
        self._labels = np.array([], dtype=object)
        self._knn: KNeighborsClassifier | None = None

    @property
    def identities(self) -> set[str]:
        return set(self._labels.tolist())

    def training_data(self) -> tuple[np.ndarray, list[str]]:
        """Return copies of the fitted embeddings (n×d float32) and their labels, in fit order."""
        return self._embeddings.copy(), self._labels.tolist()

    def fit(self, embeddings: np.ndarray, labels: list[str]) -> "IdentityClassifier":
        if len(embeddings) != len(labels):
            raise ValueError(f"{len(embeddings)} embeddings but {len(labels)} labels.")

        self._embeddings = np.asarray(embeddings, dtype=np.float32)
        self._labels = np.asarray(labels, dtype=object)
        self._knn = None
        if len(labels):
            k = min(self.neighbors, len(labels))
            self._knn = KNeighborsClassifier(n_neighbors=k, weights="distance", metric="euclidean")
            self._knn.fit(self._embeddings, self._labels)
        return self

    def classify_faces(self, faces: Sequence[AnalyzedFace]) -> list[Classification]:
        """Classify the faces of a photo, never naming one too small or too cut off to trust."""
        if not faces:
            return []
        nameable = [self.thresholds.allow_name(item.face.box.width, item.face.cut_off) for item in faces]
        return self.classify(np.stack([item.embedding for item in faces]), nameable)

    def classify(self, embeddings: np.ndarray, nameable: Sequence[bool] | None = None) -> list[Classification]:
        """Decide each face; a face whose nameable flag is False is at most uncertain.

        nameable comes from Thresholds.allow_name: a tiny face or one cut by
        the frame still gets its candidates, so that their choices apply, but
        never a name.
        """
        if self._knn is None or len(embeddings) == 0:
            return [Classification(Decision.UNKNOWN, None, None, None) for _ in range(len(embeddings))]

        nameable = [True] * len(embeddings) if nameable is None else list(nameable)
        distances, indices = self._knn.kneighbors(embeddings)
        votes = [
            self._vote(row_distances, row_indices)
            for row_distances, row_indices in zip(distances, indices, strict=True)
        ]
        return [
            self._decide(embedding, vote, may_name)
            for embedding, vote, may_name in zip(embeddings, votes, nameable, strict=True)
        ]

    def _vote(self, distances: np.ndarray, indices: np.ndarray) -> str | None:
        """Return the identity that the k nearest selfies elect, weighted by 1 / distance.

        Selfies beyond the uncertain threshold do not vote, so that a person
        with one selfie is not outvoted by far-away people with many.
        """
        weights: dict[str, float] = {}
        for distance, index in zip(distances, indices, strict=True):
            if distance <= self.thresholds.uncertain:
                label = self._labels[index]
                weights[label] = weights.get(label, 0.0) + 1.0 / max(float(distance), 1e-6)
        if not weights:
            return None
        return max(weights, key=weights.__getitem__)

    def _decide(self, embedding: np.ndarray, vote: str | None, may_name: bool) -> Classification:
        nearest_by_identity = self._nearest_distance_by_identity(embedding)
        ranked = sorted(nearest_by_identity.items(), key=lambda item: item[1])
        candidate, distance = ranked[0]
        runner_up_distance = ranked[1][1] if len(ranked) > 1 else np.inf

        if distance > self.thresholds.uncertain:
            return Classification(Decision.UNKNOWN, None, candidate, distance)

        within_uncertain = tuple(label for label, value in ranked if value <= self.thresholds.uncertain)

        is_clear = (
            may_name
            and distance <= self.thresholds.match
            and runner_up_distance - distance >= self.thresholds.margin
            and vote == candidate
        )
        if is_clear:
            return Classification(Decision.MATCHED, candidate, candidate, distance, within_uncertain)
        return Classification(Decision.UNCERTAIN, None, candidate, distance, within_uncertain)

    def _nearest_distance_by_identity(self, embedding: np.ndarray) -> dict[str, float]:
        # Brute force over every selfie: an event has at most a few thousand,
        # and the exact per-identity minimum is what the margin rule needs.
        distances = np.linalg.norm(self._embeddings - embedding, axis=1)
        nearest: dict[str, float] = {}
        for label, distance in zip(self._labels, distances, strict=True):
            if distance < nearest.get(label, np.inf):
                nearest[label] = float(distance)
        return nearest

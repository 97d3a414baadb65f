"""Clustering of unidentified faces with complete linkage over L2 distances.

Every face in a cluster is closer than the cut to every other face in it
(complete linkage), so a chain of look-alikes cannot pull two strangers into one
cluster. The functions here never put two faces of the same photo in one
cluster, because one person normally appears once in a photo (a reviewer's
merge may still do it, for a mirror). The cut and the choice of complete linkage
come from a measurement on the shared photos (`bench/clustering.py`,
`docs/recognition.md`).

Imports nothing from Django, so that tests and benchmarks can use it alone.
"""

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.cluster import AgglomerativeClustering

# The largest L2 distance between unit vectors. Two faces of the same photo
# get it, so complete linkage with any cut below 2 never joins them.
SAME_PHOTO_DISTANCE = 2.0


def pairwise_distances(embeddings: np.ndarray) -> np.ndarray:
    """Return the matrix of L2 distances between the rows of an (n, d) array."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    squared = np.sum(embeddings**2, axis=1)
    gram = embeddings @ embeddings.T
    return np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * gram, 0.0))


def cluster_faces(embeddings: np.ndarray, photo_ids: Sequence[Hashable], cut: float) -> np.ndarray:
    """Group faces by complete linkage at the cut; return one cluster number per face, counted from 0.

    Two faces end in one cluster only when every pair of faces in it is closer
    than the cut and no two of them come from the same photo.
    """
    if len(embeddings) != len(photo_ids):
        raise ValueError(f"{len(embeddings)} embeddings but {len(photo_ids)} photo ids.")
    if not 0 < cut < SAME_PHOTO_DISTANCE:
        raise ValueError(f"The cut must be between 0 and {SAME_PHOTO_DISTANCE}, not {cut}.")
    if len(embeddings) < 2:
        # AgglomerativeClustering needs at least two samples.
        return np.zeros(len(embeddings), dtype=int)

    distances = pairwise_distances(embeddings)
    photos = np.asarray([str(photo_id) for photo_id in photo_ids])
    same_photo = photos[:, None] == photos[None, :]
    distances[same_photo] = SAME_PHOTO_DISTANCE
    np.fill_diagonal(distances, 0.0)

    # NOTE: the matrix takes 8 * n * n bytes (800 MB for 10,000 faces), so a
    # rebuild of a much larger event needs another method.
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="complete", distance_threshold=cut)
    return model.fit_predict(distances)


def assign_to_clusters(
    new_embeddings: np.ndarray, cluster_members: Sequence[np.ndarray], cut: float
) -> list[int | None]:
    """Choose an existing cluster for each new face of one photo; None means that the face starts a new cluster.

    cluster_members contains one (m, d) array of member embeddings per cluster,
    and the result gives indexes into it. A face may join a cluster only when
    it is closer than the cut to every member (complete linkage, as in
    cluster_faces). Because the faces come from one photo, each cluster takes
    at most one of them: the nearest face-cluster pairs are settled first.
    """
    if not 0 < cut < SAME_PHOTO_DISTANCE:
        raise ValueError(f"The cut must be between 0 and {SAME_PHOTO_DISTANCE}, not {cut}.")

    new_embeddings = np.asarray(new_embeddings, dtype=np.float64)
    linkage = np.full((len(new_embeddings), len(cluster_members)), np.inf)
    for index, members in enumerate(cluster_members):
        if len(members):
            distances = np.linalg.norm(new_embeddings[:, None, :] - np.asarray(members)[None, :, :], axis=2)
            linkage[:, index] = distances.max(axis=1)

    chosen: list[int | None] = [None] * len(new_embeddings)
    taken: set[int] = set()
    faces, clusters = np.nonzero(linkage < cut)
    for face, cluster in sorted(zip(faces, clusters, strict=True), key=lambda pair: linkage[pair]):
        if chosen[face] is None and cluster not in taken:
            chosen[face] = int(cluster)
            taken.add(int(cluster))
    return chosen

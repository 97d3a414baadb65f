"""Measure how cuts and linkages cluster the faces of the shared photos.

Usage: .venv/bin/python bench/clustering.py [--faces-dir DIR] [--model-dir DIR]

Runs the recognition pipeline over the `query`, `group` and `distractor`
photos, labels each face with its person, and prints, for each linkage and
cut: whether brad_pitt's two faces share a cluster, how many pairs of faces of
one person share a cluster, and how many pairs of different people do.
Imports nothing from Django.
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.clustering import SAME_PHOTO_DISTANCE, pairwise_distances  # noqa: E402
from recognition.imaging import load_image_array  # noqa: E402
from recognition.pipeline import PipelineConfig, get_pipeline  # noqa: E402

SPLITS = ("query", "group", "distractor")
CUTS = [round(0.80 + 0.02 * step, 2) for step in range(8)]

# The people of the group photos, each by a pixel inside their face, found by
# looking at the photos. A face not listed is a person seen nowhere else.
GROUP_FACES = {
    "group/df_couple.jpg": {(660, 900): "angelina_jolie", (1690, 690): "brad_pitt"},
    "group/df_selfie-many-people.jpg": {(146, 367): "angelina_jolie", (417, 205): "brad_pitt"},
    "group/fnp_multiface.jpg": {(264, 300): "jennifer_aniston"},
    "group/fr_kit_with_rose.jpg": {(302, 137): "kit_harington", (118, 159): "rose_leslie"},
    "group/fr_obama_and_biden.jpg": {(1234, 483): "barack_obama", (845, 517): "joe_biden"},
    "group/fr_two_people.jpg": {(864, 150): "joe_biden", (309, 124): "barack_obama"},
}
# The manifest marks these two photos as possibly the same woman, unverified,
# and they look alike: counted as one woman.
SAME_WOMAN = {"distractors/isf_bulk_face_sample.png", "distractors/isf_bulk_woman_search.jpeg"}


def person_of(row: dict, index: int, box) -> str | None:
    """Return the person a face shows, or None for a bystander in a photo of someone else."""
    path = row["relative_path"]
    if row["split"] == "group":
        for (x, y), person in GROUP_FACES.get(path, {}).items():
            if box.x <= x < box.x + box.width and box.y <= y < box.y + box.height:
                return person
        return f"{path}#{index}"
    if index > 0:
        return None
    if path in SAME_WOMAN:
        return "isf_woman"
    return row["identity"] or path


def analyze(faces_dir: Path, model_dir: Path) -> tuple[np.ndarray, list[str], list[str]]:
    with (faces_dir / "manifest.csv").open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["split"] in SPLITS]

    pipeline = get_pipeline(PipelineConfig(model_dir=model_dir))
    embeddings, people, photos = [], [], []
    for row in rows:
        path = faces_dir / row["relative_path"]
        image = load_image_array(path.read_bytes(), name=path.name, max_pixels=80_000_000)
        for index, face in enumerate(pipeline.analyze(image)):
            person = person_of(row, index, face.face.box)
            if person is not None:
                embeddings.append(face.embedding)
                people.append(person)
                photos.append(row["relative_path"])
    return np.stack(embeddings), people, photos


def count_pairs(numbers: np.ndarray, people: list[str]) -> tuple[int, int]:
    """Return (pairs of one person in one cluster, pairs of different people in one cluster)."""
    same = different = 0
    for first in range(len(people)):
        for second in range(first + 1, len(people)):
            if numbers[first] == numbers[second]:
                if people[first] == people[second]:
                    same += 1
                else:
                    different += 1
    return same, different


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    arguments = parser.parse_args()

    embeddings, people, photos = analyze(arguments.faces_dir, arguments.model_dir)
    distances = pairwise_distances(embeddings)
    same_photo = np.asarray(photos)[:, None] == np.asarray(photos)[None, :]
    distances[same_photo] = SAME_PHOTO_DISTANCE
    np.fill_diagonal(distances, 0.0)

    brad = [index for index, person in enumerate(people) if person == "brad_pitt"]
    one_person, _ = count_pairs(np.zeros(len(people)), people)
    print(f"{len(people)} faces, {one_person} pairs of one person")
    print(f"brad_pitt's two faces are {distances[brad[0], brad[1]]:.3f} apart")
    print("linkage   cut   brad_pitt joined   one-person pairs joined   different-people pairs joined   clusters")
    for linkage in ("single", "average", "complete"):
        for cut in CUTS:
            model = AgglomerativeClustering(
                n_clusters=None, metric="precomputed", linkage=linkage, distance_threshold=cut
            )
            numbers = model.fit_predict(distances)
            same, different = count_pairs(numbers, people)
            joined = "yes" if numbers[brad[0]] == numbers[brad[1]] else "no"
            print(f"{linkage:9} {cut:.2f}  {joined:17}  {same:23}  {different:29}  {len(set(numbers))}")


if __name__ == "__main__":
    main()

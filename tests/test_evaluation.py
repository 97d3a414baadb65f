"""The evaluation command and the classifier's three decisions, on real photos."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from recognition.classification import IdentityClassifier
from recognition.enrollment import choose_selfie_face
from recognition.evaluation import analyze_dataset, equal_error_rate, load_dataset
from recognition.imaging import load_image_array
from recognition.schemas import AnalyzedFace, Decision
from recognition.services import pipeline, thresholds
from tests.conftest import faces_dir

# A small labelled folder in the folder layout: people's enrollment folders,
# query/<person>/, distractors/ and noface/, plus a pairs file.
FOLDER_LAYOUT = {
    "angelina_jolie/df_img1.jpg": "identities/angelina_jolie/df_img1.jpg",
    "angelina_jolie/df_img2.jpg": "identities/angelina_jolie/df_img2.jpg",
    "barack_obama/fr_obama.jpg": "identities/barack_obama/fr_obama.jpg",
    "query/angelina_jolie/df_img4.jpg": "identities/angelina_jolie/df_img4.jpg",
    "query/barack_obama/fr_obama2.jpg": "identities/barack_obama/fr_obama2.jpg",
    "query/alex_lacamoire/fr_alex-lacamoire.png": "identities/alex_lacamoire/fr_alex-lacamoire.png",
    "alex_lacamoire/fr_alex_lacamoire1.jpg": "identities/alex_lacamoire/fr_alex_lacamoire1.jpg",
    "distractors/fnp_paul_rudd_1.jpg": "distractors/fnp_paul_rudd_1.jpg",
    "distractors/mtcnn_ivan.jpg": "distractors/mtcnn_ivan.jpg",
    "noface/pil_flower2.jpg": "noface/pil_flower2.jpg",
}
PAIRS = """file_x,file_y,decision
angelina_jolie/df_img1.jpg,query/angelina_jolie/df_img4.jpg,Yes
barack_obama/fr_obama.jpg,query/barack_obama/fr_obama2.jpg,Yes
angelina_jolie/df_img1.jpg,barack_obama/fr_obama.jpg,No
distractors/fnp_paul_rudd_1.jpg,query/barack_obama/fr_obama2.jpg,No
"""


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("labelled")
    for target, source in FOLDER_LAYOUT.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        (root / target).symlink_to(faces_dir() / source)
    (root / "pairs.csv").write_text(PAIRS)
    return root


@pytest.fixture(scope="module")
def report(labelled_folder, tmp_path_factory) -> dict:
    output = tmp_path_factory.mktemp("report") / "report.json"
    call_command("evaluate_recognition", str(labelled_folder), "--json", str(output), stdout=io.StringIO())
    return json.loads(output.read_text())


def test_folder_layout_is_read_as_labelled(labelled_folder):
    dataset = load_dataset(labelled_folder)
    splits = {image.relative_path: (image.split, image.identities) for image in dataset.images}

    assert splits["angelina_jolie/df_img1.jpg"] == ("enrol", ("angelina_jolie",))
    assert splits["query/barack_obama/fr_obama2.jpg"] == ("query", ("barack_obama",))
    assert splits["distractors/mtcnn_ivan.jpg"] == ("distractor", ())
    assert splits["noface/pil_flower2.jpg"] == ("noface", ())
    assert [len(pairs) for pairs in dataset.pairs.values()] == [4]


def test_report_counts_named_and_uncertain_queries(report):
    queries = report["queries"]

    assert report["enrollment"]["identities"] == 3
    # Each selfie counts twice: as taken and mirrored.
    assert report["enrollment"]["images"] == 4
    assert report["enrollment"]["samples"] == 8
    assert queries["total"] == 3
    assert queries["named"] == 2
    assert queries["not_named"]["query/alex_lacamoire/fr_alex-lacamoire.png"]["outcome"] == "uncertain_right_candidate"
    assert queries["rank1_accuracy"] == 1.0
    assert queries["unknown_or_uncertain_share"] == pytest.approx(1 / 3, abs=1e-3)


def test_report_names_no_stranger(report):
    assert report["wrong_names"] == []
    assert report["strangers"]["named"] == 0
    assert report["strangers"]["faces"] >= 2


def test_report_scores_detection_and_pairs(report):
    assert report["detection"]["query"] == {"expected": 3, "found": 3, "extra": 0, "short": {}, "recall": 1.0}
    pairs = report["pairs"]["pairs.csv"]
    assert (pairs["same"], pairs["different"], pairs["skipped"]) == (2, 2, 0)
    assert pairs["equal_error_rate"] == 0.0
    assert pairs["largest_same"] < pairs["smallest_different"]


def test_equal_error_rate_where_the_rates_cross():
    same = np.array([0.2, 0.4, 0.6, 0.9])
    different = np.array([0.5, 1.0, 1.2, 1.4])

    result = equal_error_rate(same, different)

    assert result == {"equal_error_rate": 0.25, "at_threshold": 0.6}


def _faces(relative_path: str) -> list[AnalyzedFace]:
    path = faces_dir() / relative_path
    image = load_image_array(path.read_bytes(), name=path.name, max_pixels=80_000_000)
    return pipeline().analyze(image, flipped=True)


def _enrolled(*relative_paths: str) -> IdentityClassifier:
    samples, labels = [], []
    for relative_path in relative_paths:
        face = choose_selfie_face(_faces(relative_path), Path(relative_path).name)
        samples += [face.embedding, face.flipped_embedding]
        labels += [relative_path.split("/")[1]] * 2
    return IdentityClassifier(thresholds()).fit(np.stack(samples), labels)


def test_two_enrollments_of_one_person_match_each_other():
    first, second = "identities/barack_obama/fr_obama.jpg", "identities/barack_obama/fr_obama1.jpg"

    from_first = _enrolled(first).classify(np.stack([_faces(second)[0].embedding]))[0]
    from_second = _enrolled(second).classify(np.stack([_faces(first)[0].embedding]))[0]

    assert (from_first.decision, from_first.identity) == (Decision.MATCHED, "barack_obama")
    assert (from_second.decision, from_second.identity) == (Decision.MATCHED, "barack_obama")


def test_stranger_is_unknown():
    classifier = _enrolled("identities/barack_obama/fr_obama.jpg", "identities/angelina_jolie/df_img1.jpg")

    result = classifier.classify(np.stack([_faces("distractors/mtcnn_ivan.jpg")[0].embedding]))[0]

    assert result.decision == Decision.UNKNOWN
    assert result.distance > thresholds().uncertain


def test_face_between_the_bands_is_uncertain():
    # A blurry, low-resolution photo of him: near his selfie, but not near enough to name.
    classifier = _enrolled("identities/alex_lacamoire/fr_alex_lacamoire1.jpg")

    result = classifier.classify(np.stack([_faces("identities/alex_lacamoire/fr_alex-lacamoire.png")[0].embedding]))[0]

    assert result.decision == Decision.UNCERTAIN
    assert result.identity is None
    assert result.candidate == "alex_lacamoire"
    assert thresholds().match < result.distance <= thresholds().uncertain


def test_tiny_and_cut_faces_are_never_named():
    chosen = thresholds()

    assert chosen.allow_name(chosen.min_face_width, 0.0)
    assert not chosen.allow_name(chosen.min_face_width - 1, 0.0)
    assert not chosen.allow_name(500, chosen.max_cut_off + 0.01)

    face = _faces("identities/barack_obama/fr_obama1.jpg")[0]
    classifier = _enrolled("identities/barack_obama/fr_obama.jpg")
    named, unnamed = classifier.classify(np.stack([face.embedding, face.embedding]), [True, False])
    assert named.decision == Decision.MATCHED
    assert unnamed.decision == Decision.UNCERTAIN
    assert unnamed.identity is None
    assert unnamed.candidate == "barack_obama"


def test_paths_outside_folder_not_read(tmp_path):
    root = tmp_path / "labelled"
    (root / "anna").mkdir(parents=True)
    (root / "anna" / "selfie.jpg").symlink_to(faces_dir() / "identities/angelina_jolie/df_img1.jpg")
    (tmp_path / "secret.jpg").symlink_to(faces_dir() / "identities/barack_obama/fr_obama.jpg")
    (root / "pairs.csv").write_text(
        "file_x,file_y,decision\nanna/selfie.jpg,../secret.jpg,No\nanna/selfie.jpg,/dev/zero,No\n"
    )
    analyzed = []

    analyses, errors = analyze_dataset(load_dataset(root), lambda image: analyzed.append(image.shape) or [])

    assert list(analyses) == ["anna/selfie.jpg"]
    assert len(analyzed) == 1
    assert "../secret.jpg is not a regular file inside" in errors["../secret.jpg"]
    assert "/dev/zero" in errors

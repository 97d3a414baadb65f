"""The command-line folder workflow on real photos: enroll_folder, tag_folder, export_classifier, export files."""

import csv
import dataclasses
import hashlib
import io
import json
import warnings
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services as account_services
from accounts.models import Sharing
from events.models import JobStatus, Membership, Role
from recognition import folders
from recognition.classification import Thresholds
from recognition.export import ExportError, load_classifier, save_classifier
from recognition.imaging import load_image_array
from recognition.models import Selfie
from recognition.pipeline import FACENET_ONNX_NAME
from recognition.schemas import Box, Classification, Decision
from recognition.services import pipeline
from tests.conftest import faces_dir, make_user, manifest

IDENTITIES = ("barack_obama", "mark_zuckerberg", "scarlett_johansson")
NO_FACE_PERSON = "no_face_person"
NO_FACE_IMAGE = "noface/mtcnn_no-faces.jpg"
DISTRACTOR = "distractors/fnp_paul_rudd_1.jpg"

# Every test takes the database, so that pytest-django keeps this module's
# tests together and the module fixture runs the pipeline once, not twice.
pytestmark = pytest.mark.django_db


class Workflow:
    """The folders of one run, the commands' outputs, and the query photos' expected identities."""

    def __init__(self, root: Path) -> None:
        self.people = root / "people"
        self.photos = root / "photos"
        self.export = root / "classifier.npz"
        self.tags = root / "tags.csv"
        self.face_tags = root / "faces.csv"
        self.enrolled_images = 0
        self.query_identity: dict[str, str] = {}
        self.outputs: dict[str, tuple[str, str]] = {}

    def run(self, key: str, command: str, *args: str) -> None:
        """Run the command and keep its stdout and stderr under key."""
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command(command, *args, stdout=stdout, stderr=stderr)
        self.outputs[key] = (stdout.getvalue(), stderr.getvalue())


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)


def _build_folders(workflow: Workflow) -> None:
    rows_by_split = defaultdict(list)
    for row in manifest():
        rows_by_split[row.split].append(row)
    by_path = {row.relative_path: row for row in manifest()}

    for row in rows_by_split["enrol"]:
        if row.identity in IDENTITIES:
            _link(row.path, workflow.people / row.identity / row.name)
            workflow.enrolled_images += 1
    _link(by_path[NO_FACE_IMAGE].path, workflow.people / NO_FACE_PERSON / "no-faces.jpg")

    for row in rows_by_split["query"]:
        if row.identity in IDENTITIES:
            _link(row.path, workflow.photos / "queries" / row.name)
            workflow.query_identity[f"queries/{row.name}"] = row.identity
    _link(by_path[DISTRACTOR].path, workflow.photos / "distractor.jpg")
    _link(by_path[NO_FACE_IMAGE].path, workflow.photos / "noface" / "no-faces.jpg")
    (workflow.photos / "notes.txt").write_text("not a photo")
    (workflow.photos / ".hidden.jpg").write_text("hidden files are skipped")


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Workflow:
    workflow = Workflow(tmp_path_factory.mktemp("folders"))
    _build_folders(workflow)

    workflow.run("enroll", "enroll_folder", str(workflow.people), "--output", str(workflow.export))
    common = [str(workflow.photos), "--classifier", str(workflow.export)]
    workflow.run("tag", "tag_folder", *common, "--output", str(workflow.tags))
    workflow.run("tag per face", "tag_folder", *common, "--per-face", "--output", str(workflow.face_tags))
    return workflow


@pytest.fixture(scope="module")
def query_embeddings(workflow) -> np.ndarray:
    embeddings = []
    for relative_path in workflow.query_identity:
        path = workflow.photos / relative_path
        image = load_image_array(path.read_bytes(), name=path.name, max_pixels=80_000_000)
        embeddings += [face.embedding for face in pipeline().analyze(image)]
    return np.stack(embeddings)


def _csv_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as stream:
        return {row["path"]: row for row in csv.DictReader(stream)}


def test_enroll_folder_reports_summary(workflow):
    stdout, stderr = workflow.outputs["enroll"]

    assert f"Enrolled 3 people from {workflow.enrolled_images} images (1 images rejected)" in stdout
    assert f"No face was found in {NO_FACE_PERSON}/no-faces.jpg" in stderr
    assert f"{NO_FACE_PERSON}: no usable image" in stderr


def test_enroll_folder_export_contents(workflow):
    classifier = load_classifier(workflow.export)
    embeddings, labels = classifier.training_data()

    assert sorted(set(labels)) == list(IDENTITIES)
    # Each image is enrolled as taken and mirrored.
    assert len(labels) == 2 * workflow.enrolled_images
    assert embeddings.shape == (2 * workflow.enrolled_images, 512)
    assert workflow.export.stat().st_mode & 0o077 == 0


def test_tag_folder_names_query_people(workflow):
    rows = _csv_rows(workflow.tags)

    for relative_path, identity in workflow.query_identity.items():
        assert rows[relative_path]["faces"] == "1", relative_path
        assert rows[relative_path]["named"] == identity, relative_path
        assert rows[relative_path]["error"] == "", relative_path


def test_tag_folder_rows_for_distractor_and_bad_files(workflow):
    rows = _csv_rows(workflow.tags)

    assert rows["distractor.jpg"]["faces"] == "1"
    assert rows["distractor.jpg"]["named"] == ""
    assert rows["noface/no-faces.jpg"]["faces"] == "0"
    assert rows["noface/no-faces.jpg"]["error"] == ""
    assert rows["notes.txt"]["faces"] == ""
    assert "notes.txt is not an image" in rows["notes.txt"]["error"]
    assert ".hidden.jpg" not in rows
    assert len(rows) == len(workflow.query_identity) + 3


def test_tag_folder_summary_lists_unreadable_file(workflow):
    stdout, stderr = workflow.outputs["tag"]

    photos = len(workflow.query_identity) + 2
    assert f"Tagged {photos} photos: {len(workflow.query_identity)} faces named" in stdout
    assert "1 files could not be read" in stdout
    assert "notes.txt is not an image" in stderr


def test_tag_folder_per_face_rows(workflow):
    with workflow.face_tags.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    by_path = defaultdict(list)
    for row in rows:
        by_path[row["path"]].append(row)

    for relative_path, identity in workflow.query_identity.items():
        (row,) = by_path[relative_path]
        assert row["decision"] == "matched", relative_path
        assert row["identity"] == identity, relative_path
        assert 0 < float(row["distance"]) <= 0.85, relative_path
        assert int(row["box_width"]) > 20, relative_path
    (distractor,) = by_path["distractor.jpg"]
    assert distractor["decision"] in ("uncertain", "unknown")
    assert distractor["identity"] == ""
    (unreadable,) = by_path["notes.txt"]
    assert unreadable["face"] == ""
    assert "is not an image" in unreadable["error"]
    (no_face,) = by_path["noface/no-faces.jpg"]
    assert no_face["face"] == ""
    assert no_face["error"] == ""


# A folder name cannot contain "/", so the link target has none.
FORMULA_FOLDER = '=HYPERLINK("127.0.0.1","click")'


def test_tag_folder_neutralizes_formula_cells(workflow, tmp_path):
    photos = tmp_path / "photos"
    (photos / FORMULA_FOLDER).mkdir(parents=True)
    (photos / FORMULA_FOLDER / "notes.txt").write_text("not a photo")
    (photos / "@notes.txt").write_text("not a photo")
    (photos / "plain.txt").write_text("not a photo")
    output = tmp_path / "tags.csv"
    output.write_text("an older file that anyone could read")
    output.chmod(0o644)

    call_command(
        "tag_folder", str(photos), "--classifier", str(workflow.export), "--output", str(output), stderr=io.StringIO()
    )

    rows = _csv_rows(output)
    assert sorted(rows) == [f"'{FORMULA_FOLDER}/notes.txt", "'@notes.txt", "plain.txt"]
    assert rows[f"'{FORMULA_FOLDER}/notes.txt"]["error"].startswith(f"'{FORMULA_FOLDER}/notes.txt is not an image")
    assert rows["'@notes.txt"]["error"].startswith("'@notes.txt is not an image")
    assert rows["plain.txt"]["error"].startswith("plain.txt is not an image")
    assert output.stat().st_mode & 0o777 == 0o600


def test_face_csv_neutralizes_names():
    classification = Classification(Decision.UNCERTAIN, None, "+candidate", 0.9, ("-look-alike", "@other"))
    photo = folders.TaggedPhoto("\tphoto.jpg", [folders.TaggedFace(Box(1, 2, 60, 70), classification)])
    stream = io.StringIO()

    folders.write_face_csv(stream, [photo])

    (row,) = csv.DictReader(io.StringIO(stream.getvalue()))
    assert row["path"] == "'\tphoto.jpg"
    assert row["candidate"] == "'+candidate"
    assert row["plausible"] == "'-look-alike;@other"
    assert row["decision"] == "uncertain"
    assert row["box_x"] == "1"


def test_tag_folder_writes_private_csv(workflow):
    assert workflow.tags.stat().st_mode & 0o777 == 0o600
    assert workflow.face_tags.stat().st_mode & 0o777 == 0o600


def test_export_round_trip_classifies_identically(workflow, query_embeddings):
    original = folders.fit_classifier(folders.enroll_people(workflow.people))
    loaded = load_classifier(workflow.export)

    expected = original.classify(query_embeddings)
    actual = loaded.classify(query_embeddings)
    assert [result.decision for result in actual] == [result.decision for result in expected]
    assert [result.identity for result in actual] == [result.identity for result in expected]
    assert [result.distance for result in actual] == [result.distance for result in expected]
    assert actual == expected
    assert sum(result.decision == Decision.MATCHED for result in actual) == len(workflow.query_identity)
    assert loaded.thresholds == original.thresholds
    assert loaded.neighbors == original.neighbors


# Invalid exports. Each builder writes a file at target from the valid export.


def _arrays(valid: Path) -> dict[str, np.ndarray]:
    with np.load(valid, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _header_text(arrays: dict[str, np.ndarray]) -> str:
    return arrays["header"].tobytes().decode()


def _header(arrays: dict[str, np.ndarray]) -> dict:
    return json.loads(_header_text(arrays))


def _with_header(arrays: dict[str, np.ndarray], header: dict) -> dict[str, np.ndarray]:
    return {**arrays, "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}


def _checksum(header: dict, embeddings: np.ndarray, labels: np.ndarray) -> str:
    settings = {"neighbors": header["neighbors"], "thresholds": header["thresholds"]}
    settings_json = json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(settings_json + embeddings.astype("<f4").tobytes() + labels.tobytes()).hexdigest()


def _save_with_checksum(target: Path, arrays: dict[str, np.ndarray], header: dict) -> None:
    """Write arrays and header with a checksum that matches them, as someone who edits a file can."""
    header = {**header, "sha256": _checksum(header, arrays["embeddings"], arrays["labels"])}
    np.savez(target, **_with_header(arrays, header))


def _text_file(valid: Path, target: Path) -> None:
    target.write_text("embeddings,labels\n0.1,alice\n")


def _zip_without_arrays(valid: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("readme.txt", "a zip, but not an export")


def _flipped_embedding_byte(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    raw = bytearray(arrays["embeddings"].tobytes())
    raw[100] ^= 0x01
    arrays["embeddings"] = np.frombuffer(bytes(raw), dtype="<f4").reshape(arrays["embeddings"].shape)
    np.savez(target, **arrays)


def _other_model(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    np.savez(target, **_with_header(arrays, {**_header(arrays), "model": "arcface-r100.onnx"}))


def _unknown_version(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    np.savez(target, **_with_header(arrays, {**_header(arrays), "version": 99}))


def _header_not_json(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    np.savez(target, **{**arrays, "header": np.frombuffer(b"{not json", dtype=np.uint8)})


def _npy_in_front(valid: Path, target: Path) -> None:
    # zipfile still finds the export at the end of this file, but np.load
    # would read the leading .npy array, whose header no check has seen.
    front = io.BytesIO()
    np.save(front, np.zeros(3))
    target.write_bytes(front.getvalue() + valid.read_bytes())


def _duplicate_member(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    # zipfile warns when it writes a name twice, which is the point here.
    with warnings.catch_warnings(), zipfile.ZipFile(target, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)
        for name, array in [("labels", arrays["labels"][:1]), *arrays.items()]:
            member = io.BytesIO()
            np.save(member, array)
            archive.writestr(f"{name}.npy", member.getvalue())


def _deeply_nested_header(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    nested = b"[" * 100_000 + b"]" * 100_000
    np.savez(target, **{**arrays, "header": np.frombuffer(nested, dtype=np.uint8)})


def _header_with_huge_integer(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    text = _header_text(arrays).replace('"version": 1', '"version": 1' + "0" * 5000)
    np.savez(target, **{**arrays, "header": np.frombuffer(text.encode(), dtype=np.uint8)})


def _compressed(valid: Path, target: Path) -> None:
    np.savez_compressed(target, **_arrays(valid))


def _encrypted_flag(valid: Path, target: Path) -> None:
    # Set the "encrypted" bit in every local header (flags at byte 6) and central entry (byte 8).
    data = bytearray(valid.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + offset] |= 1
            start = data.find(signature, start + 4)
    target.write_bytes(bytes(data))


def _nan_with_matching_checksum(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    arrays["embeddings"] = arrays["embeddings"].copy()
    arrays["embeddings"][0, 0] = np.nan
    _save_with_checksum(target, arrays, _header(arrays))


def _scaled_embeddings(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    arrays["embeddings"] = arrays["embeddings"] * 2
    _save_with_checksum(target, arrays, _header(arrays))


def _zero_embeddings(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    arrays["embeddings"] = np.zeros_like(arrays["embeddings"])
    _save_with_checksum(target, arrays, _header(arrays))


def _label_with_nul(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    labels = arrays["labels"].tolist()
    labels[0] = "barack\x00obama"
    arrays["labels"] = np.array(labels)
    header = {**_header(arrays), "identities": len(set(labels))}
    _save_with_checksum(target, arrays, header)


def _loose_thresholds(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    loose = {"match": 2.0, "uncertain": -1.0, "margin": -5.0, "min_face_width": 0, "max_cut_off": 1.0}
    _save_with_checksum(target, arrays, {**_header(arrays), "thresholds": loose})


def _threshold_changed_after_export(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    header = _header(arrays)
    header["thresholds"]["match"] = 0.9
    np.savez(target, **_with_header(arrays, header))


def _neighbors_changed_after_export(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    np.savez(target, **_with_header(arrays, {**_header(arrays), "neighbors": 1}))


def _version_true(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    _save_with_checksum(target, arrays, {**_header(arrays), "version": True})


def _version_float(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    _save_with_checksum(target, arrays, {**_header(arrays), "version": 1.0})


def _missing_threshold(valid: Path, target: Path) -> None:
    arrays = _arrays(valid)
    header = _header(arrays)
    del header["thresholds"]["margin"]
    np.savez(target, **_with_header(arrays, header))


INVALID_EXPORTS = [
    (_text_file, "it is not an .npz archive"),
    (_zip_without_arrays, "it lacks the arrays embeddings.npy, header.npy, labels.npy"),
    (_flipped_embedding_byte, "its checksum does not match"),
    (_other_model, "its embeddings come from the model 'arcface-r100.onnx'"),
    (_unknown_version, "it has format version 99"),
    (_header_not_json, "its header is not valid JSON"),
    (_npy_in_front, "it is not an .npz archive"),
    (_duplicate_member, "several members with the same name"),
    (_deeply_nested_header, "its header could not be parsed (RecursionError"),
    (_header_with_huge_integer, "its header could not be parsed (ValueError"),
    (_compressed, "is compressed"),
    (_encrypted_flag, "is encrypted"),
    (_nan_with_matching_checksum, "NaN or infinite"),
    (_scaled_embeddings, "embeddings are not of unit length (norms from 2 to 2"),
    (_zero_embeddings, "embeddings are not of unit length (norms from 0 to 0"),
    (_label_with_nul, "some labels are empty or contain NUL characters"),
    (_loose_thresholds, "its thresholds are invalid: min_face_width is 0"),
    (_threshold_changed_after_export, "its checksum does not match"),
    (_neighbors_changed_after_export, "its checksum does not match"),
    (_version_true, "its header field 'version' is True"),
    (_version_float, "its header field 'version' is 1.0"),
    (_missing_threshold, "missing: margin"),
]


@pytest.mark.parametrize(("build", "problem"), INVALID_EXPORTS, ids=[build.__name__ for build, _ in INVALID_EXPORTS])
def test_load_rejects_invalid_export(workflow, tmp_path, build, problem):
    target = tmp_path / "bad.npz"
    build(workflow.export, target)

    with pytest.raises(ExportError) as caught:
        load_classifier(target)

    message = str(caught.value)
    assert message.startswith(f"{target} is not a valid Facegate classifier export")
    assert problem in message


THRESHOLDS_OUT_OF_RANGE = [
    ({"min_face_width": 0}, "min_face_width is 0, not a positive integer"),
    ({"min_face_width": 48.0}, "min_face_width is 48.0, not a positive integer"),
    ({"min_face_width": 1e308}, "min_face_width is 1e+308, not a positive integer"),
    ({"match": 0.0}, "match is 0.0 and uncertain is 1.1"),
    ({"match": 1.2}, "match is 1.2 and uncertain is 1.1"),
    ({"uncertain": 2.5}, "match is 0.85 and uncertain is 2.5"),
    ({"margin": -0.01}, "margin is -0.01, below 0"),
    ({"max_cut_off": -0.1}, "max_cut_off is -0.1, outside 0 to 1"),
    ({"max_cut_off": 1.5}, "max_cut_off is 1.5, outside 0 to 1"),
    ({"max_cut_off": True}, "max_cut_off is True, not a finite number"),
]


@pytest.mark.parametrize(
    ("change", "problem"), THRESHOLDS_OUT_OF_RANGE, ids=[str(change) for change, _ in THRESHOLDS_OUT_OF_RANGE]
)
def test_load_rejects_threshold_out_of_range(workflow, tmp_path, change, problem):
    target = tmp_path / "bad.npz"
    arrays = _arrays(workflow.export)
    header = _header(arrays)
    header["thresholds"].update(change)
    _save_with_checksum(target, arrays, header)

    with pytest.raises(ExportError) as caught:
        load_classifier(target)

    assert str(target) in str(caught.value)
    assert f"its thresholds are invalid: {problem}" in str(caught.value)


def test_save_rejects_invalid_thresholds(workflow, tmp_path):
    classifier = load_classifier(workflow.export)
    classifier.thresholds = dataclasses.replace(classifier.thresholds, margin=-0.5)
    target = tmp_path / "c.npz"

    with pytest.raises(ValueError, match="margin is -0.5, below 0"):
        save_classifier(target, classifier, model_name=FACENET_ONNX_NAME)

    assert not target.exists()


def test_load_rejects_missing_file(tmp_path):
    with pytest.raises(ExportError, match="was not found"):
        load_classifier(tmp_path / "absent.npz")


def test_load_other_model_when_allowed(workflow, tmp_path):
    target = tmp_path / "renamed.npz"
    _other_model(workflow.export, target)

    classifier = load_classifier(target, expected_model=None)

    assert sorted(classifier.identities) == list(IDENTITIES)


class WritesMarkerWhenUnpickled:
    """An object whose unpickling creates a file, which is how a malicious pickle runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_load_never_unpickles_object_array(workflow, tmp_path):
    marker = tmp_path / "unpickled"
    target = tmp_path / "pickled.npz"
    arrays = _arrays(workflow.export)
    labels = np.array([WritesMarkerWhenUnpickled(marker) for _ in arrays["labels"]], dtype=object)
    np.savez(target, embeddings=arrays["embeddings"], labels=labels, header=arrays["header"])

    with pytest.raises(ExportError, match="contains Python objects") as caught:
        load_classifier(target)

    assert str(target) in str(caught.value)
    assert not marker.exists()
    # The file is a live pickle: a loader that allows pickle runs it.
    with np.load(target, allow_pickle=True) as archive:
        archive["labels"]
    assert marker.exists()


def test_tag_folder_rejects_invalid_classifier(workflow, tmp_path):
    target = tmp_path / "bad.npz"
    _unknown_version(workflow.export, target)

    output = tmp_path / "tags.csv"

    with pytest.raises(CommandError, match="it has format version 99"):
        call_command("tag_folder", str(workflow.photos), "--classifier", str(target), "--output", str(output))

    assert not output.exists()


def test_enroll_folder_rejects_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("enroll_folder", str(tmp_path / "absent"), "--output", str(tmp_path / "c.npz"))


# export_classifier: an event's classifier from the database.


def _enroll_with_embeddings(user, embeddings: np.ndarray) -> None:
    for index, embedding in enumerate(embeddings):
        Selfie.objects.create(
            user=user,
            file=SimpleUploadedFile(f"selfie{index}.jpg", b"unused"),
            original_name=f"selfie{index}.jpg",
            checksum="0" * 64,
            status=JobStatus.DONE,
            embedding=embedding,
        )


def test_export_classifier_labels_consenting_members(workflow, event, attendee, stranger, tmp_path):
    embeddings, labels = load_classifier(workflow.export).training_data()
    by_identity = {identity: embeddings[[label == identity for label in labels]] for identity in IDENTITIES}
    account_services.give_consent(attendee, Sharing.SHARE)
    _enroll_with_embeddings(attendee, by_identity["barack_obama"])
    # A member whose selfies exist but who gave no consent stays out of the export.
    Membership.objects.create(event=event, user=stranger, role=Role.ATTENDEE)
    _enroll_with_embeddings(stranger, by_identity["mark_zuckerberg"])
    output = tmp_path / "event.npz"

    call_command("export_classifier", str(event.id), "--output", str(output), stdout=io.StringIO())

    exported = load_classifier(output)
    assert exported.identities == {str(attendee.id)}
    (result,) = exported.classify(by_identity["barack_obama"][:1])
    assert result.identity == str(attendee.id)
    assert load_classifier(output, expected_model=FACENET_ONNX_NAME).neighbors == 3


def test_export_classifier_leaves_out_hiders(workflow, event, attendee, stranger, tmp_path):
    embeddings, labels = load_classifier(workflow.export).training_data()
    by_identity = {identity: embeddings[[label == identity for label in labels]] for identity in IDENTITIES}
    account_services.give_consent(attendee, Sharing.SHARE)
    _enroll_with_embeddings(attendee, by_identity["barack_obama"])
    # Shares by default, but hides in this event.
    account_services.give_consent(stranger, Sharing.SHARE)
    Membership.objects.create(event=event, user=stranger, role=Role.ATTENDEE, sharing=Sharing.HIDE)
    _enroll_with_embeddings(stranger, by_identity["mark_zuckerberg"])
    # Hides by default, and blurs in this event.
    blurrer = make_user("bella")
    account_services.give_consent(blurrer, Sharing.HIDE)
    Membership.objects.create(event=event, user=blurrer, role=Role.ATTENDEE, sharing=Sharing.BLUR)
    _enroll_with_embeddings(blurrer, by_identity["scarlett_johansson"])
    output = tmp_path / "event.npz"
    stdout = io.StringIO()

    call_command("export_classifier", str(event.id), "--output", str(output), stdout=stdout)

    exported = load_classifier(output)
    assert exported.identities == {str(attendee.id)}
    assert str(stranger.id) not in exported.identities
    (result,) = exported.classify(by_identity["mark_zuckerberg"][:1])
    assert result.identity is None
    # The organizer (no selfies, hides by default), the hider and the blurrer.
    assert "3 members left out" in stdout.getvalue()


def test_export_classifier_rejects_event_of_hiders(event, attendee, tmp_path):
    account_services.give_consent(attendee, Sharing.SHARE)
    Membership.objects.filter(event=event, user=attendee).update(sharing=Sharing.HIDE)
    _enroll_with_embeddings(attendee, np.eye(1, 512, dtype=np.float32))
    output = tmp_path / "c.npz"

    with pytest.raises(CommandError, match="nothing to export"):
        call_command("export_classifier", str(event.id), "--output", str(output))

    assert not output.exists()


def test_export_classifier_rejects_unknown_event(tmp_path):
    with pytest.raises(CommandError, match="No event has the id 'not-an-id'"):
        call_command("export_classifier", "not-an-id", "--output", str(tmp_path / "c.npz"))


def test_export_classifier_rejects_event_without_selfies(event, tmp_path):
    output = tmp_path / "c.npz"

    with pytest.raises(CommandError, match="nothing to export"):
        call_command("export_classifier", str(event.id), "--output", str(output))

    assert not output.exists()


def test_tag_folder_missing_output_folder_fails_first(tmp_path):
    with pytest.raises(CommandError, match="does not exist. Create it or choose another --output"):
        call_command(
            "tag_folder",
            str(tmp_path),
            "--classifier",
            str(tmp_path / "none.npz"),
            "--output",
            str(tmp_path / "missing" / "tags.csv"),
        )


def test_tag_folder_caps_loose_thresholds(workflow, tmp_path):
    # In range, so the file loads, but looser than this install on every point.
    arrays = _arrays(workflow.export)
    loose = {"match": 2.0, "uncertain": 2.0, "margin": 0.0, "min_face_width": 1, "max_cut_off": 1.0}
    target = tmp_path / "loose.npz"
    _save_with_checksum(target, arrays, {**_header(arrays), "thresholds": loose})
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "distractor.jpg").symlink_to(faces_dir() / DISTRACTOR)
    output, stderr = tmp_path / "tags.csv", io.StringIO()

    call_command("tag_folder", str(photos), "--classifier", str(target), "--output", str(output), stderr=stderr)

    assert "thresholds name more faces than this install allows" in stderr.getvalue()
    assert _csv_rows(output)["distractor.jpg"]["named"] == ""


def test_no_looser_than_keeps_the_stricter_side():
    install = Thresholds()
    loose = Thresholds(match=1.5, uncertain=1.6, margin=0.0, min_face_width=1, max_cut_off=1.0)

    capped = loose.no_looser_than(install)

    assert capped == Thresholds(
        match=install.match,
        uncertain=1.6,
        margin=install.margin,
        min_face_width=install.min_face_width,
        max_cut_off=install.max_cut_off,
    )
    assert install.no_looser_than(loose) == install

"""Save a fitted IdentityClassifier to a file, and load it back without running code from the file.

An export is one uncompressed `.npz` archive (numpy's zip of `.npy` arrays)
with three arrays:

- `embeddings`: float32, n×512, the enrolled face embeddings;
- `labels`: fixed-width unicode, n, the identity of each embedding;
- `header`: uint8, the UTF-8 text of a JSON object. It names the format,
  its version and the embedding model, and gives the thresholds, the number
  of neighbours, counts and the creation time. Its SHA-256 checksum covers
  the thresholds, the number of neighbours and the two arrays.

The checksum detects damage, not tampering: anyone who can write the file
can compute a matching checksum. Loading therefore also checks every value
that decides a name (threshold ranges, unit-length embeddings, labels).

Loading never unpickles: the file must start as a zip archive, every
member's `.npy` header is checked for a plain dtype and a size that fits the
file, and numpy then reads that same member with `allow_pickle=False`. The
classifier is fitted again from the stored embeddings, so no scikit-learn
object is ever stored.

Imports nothing from Django, so that tests and benchmarks can use it alone.
"""

import dataclasses
import hashlib
import json
import math
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recognition.classification import IdentityClassifier, Thresholds
from recognition.embedding import EMBEDDING_SIZE
from recognition.pipeline import FACENET_ONNX_NAME

FORMAT_NAME = "facegate-classifier"
FORMAT_VERSION = 1
READABLE_VERSIONS = (1,)

ARRAY_NAMES = ("embeddings", "labels", "header")
EMBEDDINGS_DTYPE = np.dtype("<f4")
HEADER_DTYPE = np.dtype("u1")
ZIP_LOCAL_HEADER_MAGIC = b"PK\x03\x04"

# FaceNet embeddings are L2-normalized, and float32 rounding leaves their norms
# within about 1e-6 of 1. A larger deviation means the vectors were changed or come
# from elsewhere, and the distance thresholds would mean nothing for them.
UNIT_NORM_TOLERANCE = 1e-3

REEXPORT_HINT = "Export the classifier again with enroll_folder or export_classifier."


class ExportError(ValueError):
    """A file that is not a valid classifier export. The message names the file and the fix."""


def save_classifier(path: Path | str, classifier: IdentityClassifier, *, model_name: str) -> dict:
    """Write the classifier's training data, thresholds and neighbours to path; return the header.

    model_name names the embedding model that produced the embeddings, so
    that a file is not used with another model's embeddings. The file is
    written to a temporary file first and renamed, so a reader never sees a
    partial export. It is created readable by its owner only, because face
    embeddings are biometric data.
    """
    embeddings, labels = classifier.training_data()
    _check_labels_to_save(labels)
    if len(labels) == 0:
        raise ValueError("The classifier has no enrolled embeddings, so there is nothing to export.")

    # The value checks of load_classifier, so that a file with values it rejects is never written.
    thresholds = dataclasses.asdict(classifier.thresholds)
    problem = _thresholds_problem(thresholds) or _norms_problem(embeddings)
    if problem:
        raise ValueError(f"The classifier cannot be exported: {problem}.")

    embeddings = np.ascontiguousarray(embeddings, dtype=EMBEDDINGS_DTYPE)
    label_array = np.array(labels, dtype=np.str_)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": model_name,
        "embedding_size": int(embeddings.shape[1]),
        "thresholds": thresholds,
        "neighbors": classifier.neighbors,
        "embeddings": len(labels),
        "identities": len(set(labels)),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": _checksum(embeddings, label_array, thresholds, classifier.neighbors),
    }
    header_array = np.frombuffer(json.dumps(header, indent=2).encode("utf-8"), dtype=HEADER_DTYPE)

    _write_atomically(Path(path), embeddings=embeddings, labels=label_array, header=header_array)
    return header


def load_classifier(path: Path | str, *, expected_model: str | None = FACENET_ONNX_NAME) -> IdentityClassifier:
    """Read an export written by save_classifier and fit the classifier it describes.

    Raises ExportError for anything that is not a valid export. That covers a
    file that is not an npz archive, missing or extra arrays, object or other
    unexpected dtypes (which are never unpickled) and wrong shapes. It also
    covers a header that is not the expected JSON, an unknown format version,
    thresholds out of range and a checksum that does not match. Then come
    embeddings that are not finite or not of unit length, and empty labels or
    labels with NUL. Last, an embedding model other than expected_model is
    rejected, unless expected_model is None.
    """
    path = Path(path)
    arrays = _read_arrays(path)
    header = _parse_header(path, arrays["header"])
    _check_header(path, header, expected_model)
    thresholds = _thresholds(path, header)
    _check_training_data(path, header, arrays["embeddings"], arrays["labels"])

    classifier = IdentityClassifier(thresholds, neighbors=header["neighbors"])
    return classifier.fit(arrays["embeddings"], arrays["labels"].tolist())


def _check_labels_to_save(labels: list[str]) -> None:
    # numpy's fixed-width unicode arrays drop trailing NUL characters, so such
    # a label would come back different from the one saved.
    for label in labels:
        if not isinstance(label, str) or not label or "\x00" in label:
            raise ValueError(f"Invalid identity label {label!r}: labels must be non-empty strings without NUL.")


def _checksum(embeddings: np.ndarray, labels: np.ndarray, thresholds: dict, neighbors: int) -> str:
    """Return the SHA-256 of the settings JSON, then of the embeddings' and the labels' little-endian bytes.

    The settings JSON is {"neighbors": ..., "thresholds": {...}} with sorted
    keys and no spaces, as json.dumps(..., sort_keys=True, separators=(",", ":")) writes it.
    """
    settings = {"neighbors": neighbors, "thresholds": thresholds}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    digest.update(np.ascontiguousarray(embeddings, dtype=EMBEDDINGS_DTYPE).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=labels.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


def _write_atomically(path: Path, **arrays: np.ndarray) -> None:
    # mkstemp creates the file with mode 0600, which os.replace keeps.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            # A file object, not a name, so that numpy does not append ".npz" to the name.
            np.savez(stream, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _error(path: Path, problem: str, fix: str = REEXPORT_HINT) -> ExportError:
    return ExportError(f"{path} is not a valid Facegate classifier export: {problem}. {fix}")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ExportError(f"{path} was not found. Check the path of the classifier export.")

    try:
        with path.open("rb") as stream:
            # zipfile finds an archive from its end, so a file with other data in
            # front of a valid export passes is_zipfile. save_classifier's files
            # start with the first member's local header.
            if stream.read(len(ZIP_LOCAL_HEADER_MAGIC)) != ZIP_LOCAL_HEADER_MAGIC or not zipfile.is_zipfile(stream):
                raise _error(path, "it is not an .npz archive")
            with zipfile.ZipFile(stream) as archive:
                members = _check_members(path, archive)
                # Each array is read from the member whose header was checked, not
                # by np.load, which picks its reader from the file's first bytes.
                return {name: _read_member(archive, members[name]) for name in ARRAY_NAMES}
    except ExportError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise _error(path, f"it is damaged ({error})") from None


# Bit 0 of a zip member's general-purpose flags: the member is encrypted.
ZIP_ENCRYPTED_FLAG = 0x1


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _check_members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Check every member's .npy header before any array data is read; return the member of each array."""
    infos = archive.infolist()
    members = {info.filename: info for info in infos}
    if len(members) != len(infos):
        raise _error(path, "it contains several members with the same name")
    expected = {f"{name}.npy" for name in ARRAY_NAMES}
    missing = sorted(expected - members.keys())
    if missing:
        raise _error(path, f"it lacks the arrays {', '.join(missing)}")
    unexpected = sorted(members.keys() - expected)
    if unexpected:
        raise _error(path, f"it contains unexpected members {', '.join(unexpected)}")

    file_size = path.stat().st_size
    for name in ARRAY_NAMES:
        info = members[f"{name}.npy"]
        # save_classifier stores arrays uncompressed. Requiring that, and a
        # declared size within the file's, keeps the memory numpy allocates
        # below the file's own size, so a small crafted file cannot claim gigabytes.
        if info.compress_type != zipfile.ZIP_STORED:
            raise _error(path, f"the array {name} is compressed, which save_classifier never does")
        if info.flag_bits & ZIP_ENCRYPTED_FLAG:
            raise _error(path, f"the array {name} is encrypted, which save_classifier never does")
        if info.file_size > file_size:
            raise _error(path, f"the array {name} declares {info.file_size} bytes, more than the whole file")
        with archive.open(info) as member:
            shape, dtype = _read_npy_header(path, name, member)
        _check_array_type(path, name, shape, dtype)
        if math.prod(shape) * dtype.itemsize > info.file_size:
            raise _error(path, f"the array {name} declares {shape} values, more than its {info.file_size} bytes")
    return {name: members[f"{name}.npy"] for name in ARRAY_NAMES}


def _read_npy_header(path: Path, name: str, member) -> tuple[tuple[int, ...], np.dtype]:
    # numpy (2.4, lib/_format_impl.py) parses these headers with ast.literal_eval, which evaluates no code.
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise _error(path, f"the array {name} has .npy format version {version}, which is not supported")
    return shape, dtype


def _check_array_type(path: Path, name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise _error(
            path,
            f"the array {name} contains Python objects, which only pickle can read, and "
            "unpickling a file can run code from it, so it was not read",
        )

    if name == "embeddings":
        valid = dtype == EMBEDDINGS_DTYPE and len(shape) == 2 and shape[1] == EMBEDDING_SIZE
        expected = f"float32 values of shape (n, {EMBEDDING_SIZE})"
    elif name == "labels":
        valid = dtype.kind == "U" and dtype.byteorder != ">" and len(shape) == 1
        expected = "a one-dimensional unicode string array"
    else:
        valid = dtype == HEADER_DTYPE and len(shape) == 1
        expected = "one-dimensional uint8 bytes"
    if not valid:
        raise _error(path, f"the array {name} has dtype {dtype} and shape {shape}, expected {expected}")


def _parse_header(path: Path, array: np.ndarray) -> dict:
    try:
        header = json.loads(array.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _error(path, f"its header is not valid JSON ({error})") from None
    except (RecursionError, ValueError) as error:
        # Valid JSON that Python cannot hold: nesting deeper than the recursion
        # limit, or an integer longer than sys.get_int_max_str_digits().
        raise _error(path, f"its header could not be parsed ({type(error).__name__}: {error})") from None
    if not isinstance(header, dict):
        raise _error(path, "its header is not a JSON object")
    return header


def _check_header(path: Path, header: dict, expected_model: str | None) -> None:
    if header.get("format") != FORMAT_NAME:
        raise _error(path, f"its header names the format {header.get('format')!r}, not {FORMAT_NAME!r}")

    version = _field(path, header, "version", int)
    if version not in READABLE_VERSIONS:
        raise _error(
            path,
            f"it has format version {version!r}, and this version of Facegate reads only version "
            f"{', '.join(map(str, READABLE_VERSIONS))}",
            "Export the classifier again with this version of Facegate.",
        )

    model = _field(path, header, "model", str)
    if expected_model is not None and model != expected_model:
        raise _error(
            path,
            f"its embeddings come from the model {model!r}, but this install embeds faces with "
            f"{expected_model!r}, and distances between the two models' embeddings mean nothing",
            "Enroll the people again with enroll_folder on this install.",
        )

    if _field(path, header, "embedding_size", int) != EMBEDDING_SIZE:
        raise _error(path, f"its embedding size is {header['embedding_size']}, not {EMBEDDING_SIZE}")
    if _field(path, header, "neighbors", int) < 1:
        raise _error(path, f"its number of neighbours is {header['neighbors']}, not a positive integer")
    _field(path, header, "sha256", str)


def _field(path: Path, header: dict, key: str, kind: type):
    value = header.get(key)
    # bool is a subclass of int, but true is not a count.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _error(path, f"its header field {key!r} is {value!r}, not a {kind.__name__}")
    return value


def _check_training_data(path: Path, header: dict, embeddings: np.ndarray, labels: np.ndarray) -> None:
    count = _field(path, header, "embeddings", int)
    if count < 1 or embeddings.shape[0] != count or labels.shape[0] != count:
        raise _error(
            path,
            f"its header counts {count} embeddings, and the file has {embeddings.shape[0]} embeddings "
            f"and {labels.shape[0]} labels",
        )

    if _checksum(embeddings, labels, header["thresholds"], header["neighbors"]) != header["sha256"]:
        raise _error(
            path,
            "its checksum does not match its thresholds, neighbours, embeddings and labels, "
            "so it is damaged or was changed after export",
        )
    if not np.isfinite(embeddings).all():
        raise _error(path, "some embeddings contain NaN or infinite values")
    problem = _norms_problem(embeddings)
    if problem:
        raise _error(path, problem)

    identities = set(labels.tolist())
    if any(not label or "\x00" in label for label in identities):
        raise _error(path, "some labels are empty or contain NUL characters")
    if _field(path, header, "identities", int) != len(identities):
        raise _error(
            path, f"its header counts {header['identities']} identities, and the labels name {len(identities)}"
        )


def _thresholds(path: Path, header: dict) -> Thresholds:
    values = header.get("thresholds")
    if not isinstance(values, dict):
        raise _error(path, f"its header field 'thresholds' is {values!r}, not an object")

    # A missing threshold fails rather than falling back to a default that the
    # person who exported the classifier never chose.
    known = {field.name for field in dataclasses.fields(Thresholds)}
    unknown = sorted(values.keys() - known)
    missing = sorted(known - values.keys())
    if unknown or missing:
        raise _error(
            path,
            f"its thresholds do not match this version of Facegate (unknown: {', '.join(unknown) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'})",
            "Export the classifier again with this version of Facegate.",
        )

    problem = _thresholds_problem(values)
    if problem:
        raise _error(path, f"its thresholds are invalid: {problem}")
    return Thresholds(**values)


def _thresholds_problem(values: dict) -> str | None:
    """Return why these Thresholds fields cannot decide names, or None when they can."""
    for name, value in values.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return f"{name} is {value!r}, not a finite number"

    width = values["min_face_width"]
    if not isinstance(width, int) or width < 1:
        return f"min_face_width is {width!r}, not a positive integer number of pixels"
    # L2 distances between unit embeddings lie between 0 and 2.
    if not 0 < values["match"] <= values["uncertain"] <= 2:
        return (
            f"match is {values['match']!r} and uncertain is {values['uncertain']!r}, "
            "but 0 < match <= uncertain <= 2 is required"
        )
    if values["margin"] < 0:
        return f"margin is {values['margin']!r}, below 0"
    if not 0 <= values["max_cut_off"] <= 1:
        return f"max_cut_off is {values['max_cut_off']!r}, outside 0 to 1"
    return None


def _norms_problem(embeddings: np.ndarray) -> str | None:
    """Return why the embeddings are not unit vectors, or None when they are."""
    norms = np.linalg.norm(np.asarray(embeddings, dtype=np.float64), axis=1)
    # Written so that NaN norms count as off, too.
    off = ~(np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE)
    if not off.any():
        return None
    return (
        f"{int(off.sum())} embeddings are not of unit length (norms from {norms.min():.6g} to {norms.max():.6g}, "
        f"expected 1 within {UNIT_NORM_TOLERANCE})"
    )

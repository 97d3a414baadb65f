"""Measure the selfie checks of recognition/enrollment.py on the shared real photos.

Usage: .venv/bin/python bench/selfie_quality.py [--faces-dir DIR] [--model-dir DIR] [--skip-sizes]

For every `enrol`, `query` and `hard` photo, prints the chosen face's box width,
sharpness, yaw and roll, and the first check it fails, if any. Then prints, per split,
the smallest width and sharpness and the largest absolute yaw. Last, the size
sweep shrinks each `enrol` photo so that its face is a given number of pixels
wide and prints how far the embedding moves from the full-size one (L2 between
unit vectors). Imports nothing from Django.
"""

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.enrollment import choose_selfie_face, face_sharpness, face_yaw  # noqa: E402
from recognition.imaging import ImageError, load_image_array  # noqa: E402
from recognition.pipeline import FacePipeline, PipelineConfig, get_pipeline  # noqa: E402
from recognition.schemas import AnalyzedFace  # noqa: E402

MAX_PIXELS = 80_000_000
SPLITS = ("enrol", "query", "hard")
SWEEP_WIDTHS = (160, 120, 100, 80, 64, 48, 32)


def read_manifest(faces_dir: Path) -> list[dict[str, str]]:
    with (faces_dir / "manifest.csv").open(newline="") as stream:
        return [row for row in csv.DictReader(stream) if row["split"] in SPLITS]


def load(faces_dir: Path, relative_path: str) -> np.ndarray:
    path = faces_dir / relative_path
    return load_image_array(path.read_bytes(), name=path.name, max_pixels=MAX_PIXELS)


def roll_degrees(face: AnalyzedFace) -> float:
    (left_x, left_y), (right_x, right_y) = face.face.landmarks["left_eye"], face.face.landmarks["right_eye"]
    return math.degrees(math.atan2(right_y - left_y, right_x - left_x))


def selfie_outcome(faces: list[AnalyzedFace], name: str, image: np.ndarray) -> str:
    """Return "accepted", or the start of the message of the first check that fails."""
    try:
        choose_selfie_face(faces, name, image)
    except ImageError as error:
        return str(error)[:72]
    return "accepted"


def measure_photos(pipeline: FacePipeline, faces_dir: Path, rows: list[dict[str, str]]) -> list[dict]:
    print(f"{'split':6} {'photo':48} {'width':>6} {'sharp':>7} {'yaw':>6} {'roll':>6}  outcome")
    measured = []
    for row in rows:
        image = load(faces_dir, row["relative_path"])
        faces = pipeline.analyze(image)
        if not faces:
            print(f"{row['split']:6} {row['relative_path'][-48:]:48} no face")
            continue

        face = faces[0]
        values = {
            "split": row["split"],
            "path": row["relative_path"],
            "width": face.face.box.width,
            "sharpness": face_sharpness(image, face.face.box),
            "yaw": face_yaw(face.face),
            "roll": roll_degrees(face),
        }
        outcome = selfie_outcome(faces, Path(row["relative_path"]).name, image)
        print(
            f"{values['split']:6} {values['path'][-48:]:48} {values['width']:6d} {values['sharpness']:7.1f} "
            f"{values['yaw']:6.3f} {values['roll']:6.1f}  {outcome}"
        )
        measured.append(values)
    return measured


def print_extremes(measured: list[dict]) -> None:
    print()
    print(f"{'split':6} {'photos':>6} {'min width':>10} {'min sharpness':>14} {'max |yaw|':>10} {'max |roll|':>11}")
    for split in SPLITS:
        rows = [values for values in measured if values["split"] == split]
        print(
            f"{split:6} {len(rows):6d} {min(v['width'] for v in rows):10d} "
            f"{min(v['sharpness'] for v in rows):14.1f} {max(abs(v['yaw']) for v in rows):10.3f} "
            f"{max(abs(v['roll']) for v in rows):11.1f}"
        )


def sweep_sizes(pipeline: FacePipeline, faces_dir: Path, rows: list[dict[str, str]]) -> None:
    """Shrink each enrol photo so that its face has each width in SWEEP_WIDTHS, and embed it again."""
    drifts: dict[int, list[float]] = {width: [] for width in SWEEP_WIDTHS}
    missed = dict.fromkeys(SWEEP_WIDTHS, 0)
    for row in rows:
        if row["split"] != "enrol":
            continue
        image = load(faces_dir, row["relative_path"])
        reference = pipeline.analyze(image)[0]
        for width in SWEEP_WIDTHS:
            scale = width / reference.face.box.width
            if scale >= 1:
                continue
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            faces = pipeline.analyze(small)
            if not faces:
                missed[width] += 1
                continue
            drifts[width].append(float(np.linalg.norm(faces[0].embedding - reference.embedding)))

    print()
    print(f"{'width':>6} {'photos':>7} {'missed':>7} {'median drift':>13} {'max drift':>10}")
    for width in SWEEP_WIDTHS:
        values = drifts[width]
        if values:
            print(
                f"{width:6d} {len(values):7d} {missed[width]:7d} {statistics.median(values):13.3f} {max(values):10.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--skip-sizes", action="store_true", help="skip the size sweep, the slowest part")
    arguments = parser.parse_args()

    pipeline = get_pipeline(PipelineConfig(model_dir=arguments.model_dir))
    rows = read_manifest(arguments.faces_dir)
    measured = measure_photos(pipeline, arguments.faces_dir, rows)
    print_extremes(measured)
    if not arguments.skip_sizes:
        sweep_sizes(pipeline, arguments.faces_dir, rows)


if __name__ == "__main__":
    main()

"""Check face blurring against the product's own detector and FaceNet on real photos.

Usage: .venv/bin/python bench/blur_strength.py [--setting BLOCKS:DIVISOR ...] [--faces-dir DIR]

Enrolls every identity's "enrol" photos (and their mirror images, as
enrollment does), then for each query, group and variant photo blurs every
face that FacePipeline.analyze finds with events.rendering.blur_region and
analyzes the result again. For each setting (blocks across, Gaussian radius
divisor) it prints a JSON line with the photos in which a face is still
found and the smallest distance from such a face to any enrolled selfie. It
also gives the smallest distance to the person's own selfies when the
blurred box is embedded directly, as an attacker with the face's box could do.
Takes about 4 minutes on 2 cores for two settings.
"""

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from events.rendering import BLUR_BLOCKS, BLUR_RADIUS_DIVISOR, blur_region  # noqa: E402
from recognition.embedding import crop_face  # noqa: E402
from recognition.imaging import load_image  # noqa: E402
from recognition.pipeline import PipelineConfig, get_pipeline  # noqa: E402

PHOTO_SPLITS = ("query", "group", "variant")


def parse_setting(text: str) -> tuple[int, int]:
    blocks, divisor = text.split(":")
    return int(blocks), int(divisor)


def enrolled_embeddings(rows, faces_dir: Path, pipeline) -> dict[str, np.ndarray]:
    by_identity: dict[str, list[np.ndarray]] = {}
    for row in rows:
        if row["split"] != "enrol":
            continue
        image = load_image((faces_dir / row["relative_path"]).read_bytes(), name=row["relative_path"], max_pixels=10**9)
        found = pipeline.analyze(np.asarray(image), flipped=True)
        if found:
            by_identity.setdefault(row["identity"], []).extend([found[0].embedding, found[0].flipped_embedding])
    return {identity: np.array(embeddings) for identity, embeddings in by_identity.items()}


def nearest(embeddings: np.ndarray, embedding: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(embeddings - embedding, axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--setting", type=parse_setting, action="append", help="BLOCKS:DIVISOR; default 8:16 and the current one"
    )
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    arguments = parser.parse_args()
    settings = arguments.setting or [(8, 16), (BLUR_BLOCKS, BLUR_RADIUS_DIVISOR)]

    with (arguments.faces_dir / "manifest.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    pipeline = get_pipeline(PipelineConfig(model_dir=arguments.model_dir))
    enrolled = enrolled_embeddings(rows, arguments.faces_dir, pipeline)
    everyone = np.concatenate(list(enrolled.values()))

    photos = [
        row for row in rows if row["split"] in PHOTO_SPLITS and (row["identity"] in enrolled or row["split"] == "group")
    ]
    results = {
        setting: {"photos": 0, "still_found": [], "nearest_selfie": 2.0, "own_box_nearest": 2.0} for setting in settings
    }
    for row in photos:
        path = row["relative_path"]
        image = load_image((arguments.faces_dir / path).read_bytes(), name=path, max_pixels=10**9)
        found = pipeline.analyze(np.asarray(image))
        for setting in settings:
            result = results[setting]
            result["photos"] += 1
            blurred = image.copy()
            for item in found:
                blur_region(blurred, item.face.box, blocks=setting[0], radius_divisor=setting[1])
            pixels = np.asarray(blurred)

            again = pipeline.analyze(pixels)
            if again:
                result["still_found"].append(path)
            for item in again:
                result["nearest_selfie"] = min(result["nearest_selfie"], nearest(everyone, item.embedding))

            if found and row["identity"] in enrolled:
                box_embedding = pipeline.embedder.embed(crop_face(pixels, found[0].face.box)[None])[0]
                own = nearest(enrolled[row["identity"]], box_embedding)
                result["own_box_nearest"] = min(result["own_box_nearest"], own)

    for (blocks, divisor), result in results.items():
        summary = {
            "blocks": blocks,
            "radius_divisor": divisor,
            "photos": result["photos"],
            "photos_with_a_face_found_after_blurring": len(result["still_found"]),
            "nearest_enrolled_selfie_to_a_found_face": round(result["nearest_selfie"], 3),
            "nearest_own_selfie_to_the_blurred_box": round(result["own_box_nearest"], 3),
            "still_found": result["still_found"],
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()

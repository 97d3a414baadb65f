"""Time the recognition pipeline on the shared real photos.

Usage: .venv/bin/python bench/pipeline.py [--faces-dir DIR] [--runtime opencv|tensorflow]

Prints, as JSON: model load time; decoding and detection ms per photo; embedding ms per
face (as found, and in batches of 8); whole-photo ms; the ms per photo of
FacePipeline.analyze, which also searches each photo at the three other quarter turns;
and peak memory. Imports nothing from Django.
"""

import argparse
import csv
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.embedding import crop_face  # noqa: E402
from recognition.imaging import ImageError, load_image_array  # noqa: E402
from recognition.pipeline import PipelineConfig, get_pipeline  # noqa: E402

MAX_PIXELS = 80_000_000


def load_photos(faces_dir: Path) -> list[tuple[str, np.ndarray]]:
    with (faces_dir / "manifest.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))

    photos = []
    for row in rows:
        path = faces_dir / row["relative_path"]
        try:
            photos.append(
                (row["relative_path"], load_image_array(path.read_bytes(), name=path.name, max_pixels=MAX_PIXELS))
            )
        except ImageError:
            continue
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--runtime", default="opencv", choices=["opencv", "tensorflow"])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    arguments = parser.parse_args()

    started = time.perf_counter()
    pipeline = get_pipeline(PipelineConfig(model_dir=arguments.model_dir, detector_runtime=arguments.runtime))
    load_seconds = time.perf_counter() - started

    began = time.perf_counter()
    photos = load_photos(arguments.faces_dir)
    decode_seconds = time.perf_counter() - began
    detect_seconds = embed_seconds = 0.0
    face_count = 0
    for _, image in photos:
        began = time.perf_counter()
        faces = pipeline.detector.detect(image)
        detect_seconds += time.perf_counter() - began

        if faces:
            crops = np.stack([crop_face(image, face.box) for face in faces])
            began = time.perf_counter()
            pipeline.embedder.embed(crops)
            embed_seconds += time.perf_counter() - began
            face_count += len(faces)

    began = time.perf_counter()
    analyzed_faces = sum(len(pipeline.analyze(image)) for _, image in photos)
    analyze_seconds = time.perf_counter() - began

    batch = np.stack([crop_face(photos[0][1], pipeline.detector.detect(photos[0][1])[0].box)] * 8)
    pipeline.embedder.embed(batch)
    began = time.perf_counter()
    repeats = 10
    for _ in range(repeats):
        pipeline.embedder.embed(batch)
    batch_ms_per_face = (time.perf_counter() - began) / (repeats * 8) * 1000

    result = {
        "runtime": arguments.runtime,
        "photos": len(photos),
        "faces": face_count,
        "model_load_s": round(load_seconds, 2),
        "decode_ms_per_photo": round(decode_seconds / len(photos) * 1000, 1),
        "detection_ms_per_photo": round(detect_seconds / len(photos) * 1000, 1),
        "embedding_ms_per_face_as_found": round(embed_seconds / max(face_count, 1) * 1000, 1),
        "embedding_ms_per_face_batch8": round(batch_ms_per_face, 1),
        "photo_ms_mean": round((decode_seconds + detect_seconds + embed_seconds) / len(photos) * 1000, 1),
        "analyze_ms_per_photo": round(analyze_seconds / len(photos) * 1000, 1),
        "analyze_faces_found": analyzed_faces,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

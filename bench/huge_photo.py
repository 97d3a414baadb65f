"""Measure time, faces found and peak memory for one group photo enlarged to many megapixels.

Usage: .venv/bin/python bench/huge_photo.py [--megapixels 20 40 80] [--faces-dir DIR] [--model-dir DIR]

Each size runs in a fresh process, so that its peak resident memory is its own:
decode the JPEG, then FacePipeline.analyze. The photo is group/fnp_multiface.jpg
(6 faces, 1200×630), enlarged with bicubic interpolation. Imports nothing from Django.
"""

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTO = "group/fnp_multiface.jpg"


def enlarged_jpeg(source: Path, megapixels: float, folder: Path) -> Path:
    from PIL import Image

    with Image.open(source) as image:
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        target = folder / f"enlarged-{megapixels:g}mp.jpg"
        image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(target, quality=90)
    return target


def measure(path: Path, model_dir: Path, results) -> None:
    from recognition.imaging import load_image_array
    from recognition.pipeline import PipelineConfig, get_pipeline

    pipeline = get_pipeline(PipelineConfig(model_dir=model_dir))
    started = time.perf_counter()
    image = load_image_array(path.read_bytes(), name=path.name, max_pixels=100_000_000)
    faces = pipeline.analyze(image)
    results.put(
        {
            "pixels": f"{image.shape[1]}×{image.shape[0]}",
            "faces": len(faces),
            "seconds": round(time.perf_counter() - started, 2),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[0, 20, 40, 80])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    arguments = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        for megapixels in arguments.megapixels:
            source = arguments.faces_dir / PHOTO
            path = source if megapixels == 0 else enlarged_jpeg(source, megapixels, Path(folder))
            results = context.Queue()
            process = context.Process(target=measure, args=(path, arguments.model_dir, results))
            process.start()
            report[f"{megapixels:g} MP" if megapixels else "original"] = results.get()
            process.join()

    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

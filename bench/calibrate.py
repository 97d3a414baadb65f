"""Measure the choices behind the classifier's defaults on a labelled folder.

Usage: .venv/bin/python bench/calibrate.py [--faces-dir DIR] [--model-dir DIR] [--output FILE]

Analyzes every photo once (about 3 minutes for the shared set on 2 cores),
then scores with recognition.evaluation, as the evaluate_recognition command
does: selfies as taken against selfies plus their mirror images; k from 1 to
7; the match threshold from 0.80 to 0.90. Prints a JSON summary; the numbers
are discussed in docs/recognition.md, "Calibration". Imports nothing from Django.
"""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.classification import Thresholds  # noqa: E402
from recognition.evaluation import analyze_dataset, evaluate, load_dataset  # noqa: E402
from recognition.pipeline import PipelineConfig, get_pipeline  # noqa: E402

MATCH_SWEEP = [round(0.80 + step * 0.01, 2) for step in range(11)]
NEIGHBOR_SWEEP = [1, 3, 5, 7]


def summary(report: dict) -> dict:
    queries = report["queries"]
    return {
        "named": queries["named"],
        "uncertain_right_candidate": queries["uncertain_right_candidate"],
        "wrong_names": len(report["wrong_names"]),
        "closest_stranger": report["closest_stranger"]["distance"] if report["closest_stranger"] else None,
        "farthest_right_candidates": queries["farthest_right_candidates"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces-dir", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()

    dataset = load_dataset(arguments.faces_dir)
    pipeline = get_pipeline(PipelineConfig(model_dir=arguments.model_dir))
    analyses, _ = analyze_dataset(dataset, lambda image: pipeline.analyze(image, flipped=True))
    as_taken = {path: [replace(face, flipped_embedding=None) for face in faces] for path, faces in analyses.items()}
    defaults = Thresholds()

    results = {
        "defaults": {"match": defaults.match, "uncertain": defaults.uncertain, "margin": defaults.margin},
        "selfies_as_taken": summary(evaluate(dataset, as_taken, defaults)),
        "selfies_and_mirrors": summary(evaluate(dataset, analyses, defaults)),
        "neighbors": {k: summary(evaluate(dataset, analyses, defaults, k)) for k in NEIGHBOR_SWEEP},
        "match_threshold": {
            match: summary(evaluate(dataset, analyses, replace(defaults, match=match))) for match in MATCH_SWEEP
        },
        "pairs": evaluate(dataset, analyses, defaults)["pairs"],
    }

    text = json.dumps(results, indent=2)
    print(text)
    if arguments.output:
        arguments.output.write_text(text + "\n")


if __name__ == "__main__":
    main()

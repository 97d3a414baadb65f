import json
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recognition.evaluation import analyze_dataset, evaluate, load_dataset
from recognition.services import pipeline, thresholds


class Command(BaseCommand):
    help = (
        "Measure recognition on a labelled folder (a manifest.csv, or one folder per person plus query/, "
        "group/, distractors/, hard/, noface/): names given, strangers named, detection recall, pairs' EER."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", type=Path, help="Labelled folder; default FACEGATE_FACES_DIR.")
        parser.add_argument(
            "--json", type=Path, help="Also write the full report as JSON to this file ('-' for stdout)."
        )
        parser.add_argument("--match", type=float, help="Match threshold instead of the setting.")
        parser.add_argument("--uncertain", type=float, help="Uncertain threshold instead of the setting.")

    def handle(self, *args, **options):
        folder = options["folder"] or settings.FACEGATE_FACES_DIR
        try:
            dataset = load_dataset(folder)
        except KeyError as error:
            raise CommandError(f"A column is missing from a CSV file of {folder}: {error}.") from error
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the labelled folder {folder}: {error}") from error

        chosen = thresholds()
        if options["match"] is not None:
            chosen = replace(chosen, match=options["match"])
        if options["uncertain"] is not None:
            chosen = replace(chosen, uncertain=options["uncertain"])

        analyze = pipeline().analyze
        analyses, errors = analyze_dataset(
            dataset, lambda image: analyze(image, flipped=True), max_pixels=settings.FACEGATE_MAX_IMAGE_PIXELS
        )
        report = evaluate(dataset, analyses, chosen, settings.FACEGATE_KNN_NEIGHBORS)
        report["unreadable"] = errors

        self._print_summary(report)
        if options["json"] is not None:
            self._write_json(report, options["json"])

    def _print_summary(self, report: dict) -> None:
        queries, strangers = report["queries"], report["strangers"]
        lines = [
            f"Images that could not be read: {len(report['unreadable'])} (listed under 'unreadable' in the JSON).",
            f"Enrolled {report['enrollment']['identities']} people from {report['enrollment']['images']} images, "
            f"{report['enrollment']['samples']} samples with their mirror images "
            f"({len(report['enrollment']['rejected'])} images rejected).",
            f"Queries: {queries['named']} of {queries['total']} named, "
            f"{queries['uncertain_right_candidate']} uncertain with the right candidate; "
            f"rank-1 accuracy {_percent(queries['rank1_accuracy'])}; "
            f"left unknown or uncertain {_percent(queries['unknown_or_uncertain_share'])}.",
            f"Wrong names anywhere: {len(report['wrong_names'])}.",
            f"Strangers named: {strangers['named']} of {strangers['faces']} faces "
            f"({_percent(strangers['named_share'])}).",
        ]
        closest = report["closest_stranger"]
        if closest:
            lines.append(f"Closest stranger: {closest['distance']} from {closest['candidate']} ({closest['image']}).")
        for split, detection in report["detection"].items():
            lines.append(
                f"Detection, {split}: {detection['found']} of {detection['expected']} faces "
                f"({_percent(detection['recall'])})."
            )
        if "noface" in report["detection"]:
            lines.append(f"Faces found in photos without a face: {report['detection']['noface']['extra']}.")
        for name, pairs in report["pairs"].items():
            if "equal_error_rate" in pairs:
                lines.append(
                    f"Pairs {name}: EER {_percent(pairs['equal_error_rate'])} at {pairs['at_threshold']} "
                    f"({pairs['same']} same, {pairs['different']} different)."
                )
        for line in lines:
            self.stdout.write(line)
        for image, outcome in report["queries"]["not_named"].items():
            self.stdout.write(
                f"Query not named: {image}, {outcome['outcome']}, {outcome['candidate']} at {outcome['distance']}."
            )
        for wrong in report["wrong_names"]:
            self.stdout.write(self.style.ERROR(f"Wrong name: {wrong}"))

    def _write_json(self, report: dict, target: Path) -> None:
        text = json.dumps(report, indent=2, sort_keys=True)
        if str(target) == "-":
            self.stdout.write(text)
        else:
            target.write_text(text + "\n")
            self.stdout.write(f"Report written to {target}")


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f} %"

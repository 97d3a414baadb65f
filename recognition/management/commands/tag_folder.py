from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognition import folders
from recognition.export import ExportError, load_classifier
from recognition.pipeline import FACENET_ONNX_NAME
from recognition.schemas import Decision
from recognition.services import thresholds


class Command(BaseCommand):
    help = (
        "Detect and classify the faces of every file under PHOTOS_DIR (recursively, in path order) with a "
        "classifier written by enroll_folder or export_classifier, and write a CSV to --output: one row per "
        "file with its number of faces, the people named, the uncertain candidates and any error, or with "
        "--per-face one row per face with its box, decision and distance. The CSV names people, so it is written "
        "readable by its owner only (mode 0600). A text cell that starts with =, +, -, @, a tab or a carriage "
        "return gets a leading single quote, so that a spreadsheet does not run it as a formula."
    )

    def add_arguments(self, parser):
        parser.add_argument("photos_dir", type=Path, help="Folder of photos, searched recursively.")
        parser.add_argument("--classifier", type=Path, required=True, help="The .npz classifier export to use.")
        parser.add_argument("--output", type=Path, required=True, help="The CSV file to write.")
        parser.add_argument(
            "--per-face",
            action="store_true",
            help="Write one row per face (box in pixels, decision, identity, candidate, distance) instead of per file.",
        )
        parser.add_argument(
            "--allow-other-model",
            action="store_true",
            help=(
                f"Accept a classifier made with an embedding model other than {FACENET_ONNX_NAME}. "
                "Only for the same model under another file name: other models' distances mean nothing here."
            ),
        )

    def handle(self, *args, **options):
        photos_dir, output = options["photos_dir"], options["output"]
        if problem := folders.output_problem(output):
            raise CommandError(problem)
        if not photos_dir.is_dir():
            raise CommandError(f"{photos_dir} is not a folder.")
        expected_model = None if options["allow_other_model"] else FACENET_ONNX_NAME
        try:
            classifier = load_classifier(options["classifier"], expected_model=expected_model)
        except ExportError as error:
            raise CommandError(str(error)) from None

        # A file from elsewhere may carry thresholds that name tiny, cut or distant faces.
        allowed = classifier.thresholds.no_looser_than(thresholds())
        if allowed != classifier.thresholds:
            self.stderr.write(f"The export's thresholds name more faces than this install allows; using {allowed}.")
            classifier.thresholds = allowed

        photos = folders.tag_photos(photos_dir, classifier, skip=[output])
        folders.write_tags_file(output, photos, per_face=options["per_face"])

        self._report(photos, output)

    def _report(self, photos: list[folders.TaggedPhoto], output: Path) -> None:
        for photo in photos:
            if photo.error:
                self.stderr.write(photo.error)

        named = sum(photo.count(Decision.MATCHED) for photo in photos)
        uncertain = sum(photo.count(Decision.UNCERTAIN) for photo in photos)
        unknown = sum(photo.count(Decision.UNKNOWN) for photo in photos)
        unreadable = sum(1 for photo in photos if photo.error)
        self.stdout.write(
            self.style.SUCCESS(
                f"Tagged {len(photos) - unreadable} photos: {named} faces named, {uncertain} uncertain, "
                f"{unknown} unknown; {unreadable} files could not be read. Wrote {output}."
            )
        )

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognition import folders


class Command(BaseCommand):
    help = (
        "Enroll people from PEOPLE_DIR, one subfolder per person (its name is the identity, its images the "
        "selfies), and write the fitted classifier to --output as an .npz export that tag_folder reads. "
        "The export contains face embeddings, which are biometric data: keep it private."
    )

    def add_arguments(self, parser):
        parser.add_argument("people_dir", type=Path, help="Folder with one subfolder of selfies per person.")
        parser.add_argument("--output", type=Path, required=True, help="The .npz file to write.")

    def handle(self, *args, **options):
        people_dir, output = options["people_dir"], options["output"]
        if not people_dir.is_dir():
            raise CommandError(f"{people_dir} is not a folder.")
        if problem := folders.output_problem(output):
            raise CommandError(problem)

        enrollment = folders.enroll_people(people_dir)
        for message in enrollment.rejected:
            self.stderr.write(message)
        for person in enrollment.people_without_images:
            self.stderr.write(f"{person}: no usable image, so this person is left out of the classifier.")
        if not enrollment.labels:
            raise CommandError(
                f"No image in {people_dir} could be enrolled, so no classifier was written. "
                "Put each person's images in a subfolder named after them; images directly in the folder are ignored."
            )

        folders.export_enrollment(enrollment, output)
        self.stdout.write(
            self.style.SUCCESS(
                f"Enrolled {len(enrollment.people)} people from {enrollment.images} images "
                f"({len(enrollment.rejected)} images rejected). Wrote {output}."
            )
        )

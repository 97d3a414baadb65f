"""Build a demo event from a folder of per-person selfie folders and a folder of event photos."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, JobStatus, UnknownFacePolicy
from recognition.queue import running_inline

DEMO_PASSWORD = "facegate-demo"  # noqa: S105 (printed to the user on purpose)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".bmp"}


def image_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def as_upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


class Command(BaseCommand):
    help = (
        "Create a demo event: one attendee per subfolder of --people (the subfolder's name is the "
        "username, its images are the selfies), and the images of --photos as the event's photos. "
        f"Every demo account has the password {DEMO_PASSWORD!r}."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--people", type=Path, required=True, help="Folder with one subfolder of selfies per person."
        )
        parser.add_argument("--photos", type=Path, required=True, help="Folder with the event's photos.")
        parser.add_argument("--name", default="Demo event", help="Name of the event to create.")
        parser.add_argument("--organizer", default="organizer", help="Username of the organizer account.")
        parser.add_argument(
            "--unknown-faces",
            choices=UnknownFacePolicy.values,
            default=UnknownFacePolicy.BLUR,
            help=(
                "Policy for unidentified faces in the demo event; the default, blur, "
                "shows every photo with those faces blurred."
            ),
        )
        parser.add_argument(
            "--sharing",
            choices=Sharing.values,
            default=Sharing.SHARE,
            help="Default sharing choice of every demo attendee.",
        )

    def handle(self, *args, **options):
        people_dir, photos_dir = options["people"], options["photos"]
        for folder in (people_dir, photos_dir):
            if not folder.is_dir():
                raise CommandError(f"{folder} is not a folder.")

        with running_inline():
            organizer = self._account(options["organizer"])
            event = event_services.create_event(organizer, options["name"], options["unknown_faces"])
            self._enroll_people(event, people_dir, options["sharing"])
            self._upload_photos(event, organizer, photos_dir)

        self._report(event)

    def _account(self, username: str) -> User:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _enroll_people(self, event: Event, people_dir: Path, sharing: str) -> None:
        for person_dir in sorted(path for path in people_dir.iterdir() if path.is_dir()):
            person = self._account(person_dir.name)
            account_services.give_consent(person, sharing)
            event_services.join_event(person, event.invite_code)
            selfies, problems = account_services.add_selfies(
                person, [as_upload(path) for path in image_files(person_dir)]
            )
            for problem in problems:
                self.stderr.write(problem.message)
            self.stdout.write(f"Enrolled {person.username} from {len(selfies)} selfies")

    def _upload_photos(self, event: Event, organizer: User, photos_dir: Path) -> None:
        result = event_services.upload_photos(event, organizer, [as_upload(path) for path in image_files(photos_dir)])
        for problem in result.problems:
            self.stderr.write(problem.message)

    def _report(self, event: Event) -> None:
        for photo in event.photos.annotate(face_count=Count("faces")).prefetch_related("faces__identity"):
            if photo.status != JobStatus.DONE:
                self.stdout.write(f"{photo.original_name}: {photo.get_status_display()}: {photo.error}")
                continue
            names = sorted(face.identity.username for face in photo.faces.all() if face.identity)
            self.stdout.write(f"{photo.original_name}: {photo.face_count} faces; named: {', '.join(names) or 'nobody'}")

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo event {event.name!r} is ready. Log in as {event.created_by.username!r} or as any person, "
                f"with the password {DEMO_PASSWORD!r}."
            )
        )

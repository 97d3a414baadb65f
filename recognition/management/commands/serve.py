from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from recognition.jobs import reset_orphaned_jobs, resume_unfinished_jobs


class Command(BaseCommand):
    help = (
        "Run the site with embedded defaults: apply migrations, queue unfinished jobs "
        "and serve on ADDRESS:PORT, processing photos in a background thread."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="Address and port to serve on.")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("prepare_models")
        if not settings.CELERY_BROKER_URL:
            reset_orphaned_jobs()
        photos, selfies, events = resume_unfinished_jobs()
        if photos or selfies or events:
            self.stdout.write(
                f"Resumed {photos} photos, {selfies} selfies and {events} event re-classifications left unfinished."
            )

        # No autoreloader: it would restart the process and drop queued jobs.
        # insecure_serving serves the CSS while DEBUG is off, as --insecure does.
        call_command("runserver", options["addrport"], use_reloader=False, insecure_serving=True)

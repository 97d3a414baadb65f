from django.core.management.base import BaseCommand

from recognition.jobs import resume_unfinished_jobs


class Command(BaseCommand):
    help = "Queue again every photo, selfie and event re-classification still waiting, or stuck after a worker died."

    def handle(self, *args, **options):
        photos, selfies, events = resume_unfinished_jobs()
        self.stdout.write(f"Queued {photos} photos, {selfies} selfies and {events} event re-classifications.")

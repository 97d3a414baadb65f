from django.core.management.base import BaseCommand

from recognition.jobs import resume_unfinished_jobs


class Command(BaseCommand):
    help = "Queue again every photo and selfie still waiting, or stuck after a worker died."

    def handle(self, *args, **options):
        photos, selfies = resume_unfinished_jobs()
        self.stdout.write(f"Queued {photos} photos and {selfies} selfies.")

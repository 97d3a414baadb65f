from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "recognition"

    def ready(self) -> None:
        # Registers the JSON list lookups that the consent rule and erasure use.
        from recognition import lookups  # noqa: F401

"""Keep stored files in step with their rows."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from events.models import RenditionFile


@receiver(post_delete, sender=RenditionFile, dispatch_uid="events.delete_rendition_file")
def delete_rendition_file(sender, instance: RenditionFile, **kwargs) -> None:
    # Deleting a photo or an event cascades to its renditions, whose files
    # would otherwise stay in storage. Deleting a missing file does nothing.
    # NOTE: the file goes at once, so a transaction rolled back afterwards
    # leaves a row without its file. Serving that rendition then fails until
    # the renditions of its photo are deleted again.
    instance.file.delete(save=False)

"""Keep stored files in step with their rows."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from events.files import delete_files_on_commit
from events.models import RenditionFile


@receiver(post_delete, sender=RenditionFile, dispatch_uid="events.delete_rendition_file")
def delete_rendition_file(sender, instance: RenditionFile, **kwargs) -> None:
    # Deleting a photo or an event cascades to its renditions, whose files
    # would otherwise stay in storage. The file goes once the deletion
    # commits, so that a rollback never leaves a row without its file.
    delete_files_on_commit([instance.file])

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from events.models import Event
from recognition import folders


class Command(BaseCommand):
    help = (
        "Write the classifier of event EVENT_ID (the enrolled selfies of its members who gave consent and "
        "whose sharing choice for the event is share, labelled by user id) to --output as an .npz export that "
        "tag_folder reads. Members who chose blur or hide are left out, because tag_folder would name them. "
        "The file contains face embeddings, which are biometric data: keep it private and delete it when it is "
        "no longer needed, because a person who withdraws consent later is not removed from copies already written."
    )

    def add_arguments(self, parser):
        parser.add_argument("event_id", help="The event's id (a UUID, as in the event's address).")
        parser.add_argument("--output", type=Path, required=True, help="The .npz file to write.")

    def handle(self, *args, **options):
        event_id = options["event_id"]
        try:
            event = Event.objects.filter(id=event_id).first()
        except ValidationError:
            event = None
        if event is None:
            raise CommandError(f"No event has the id {event_id!r}. Copy the id from the event's address.")

        try:
            header, left_out = folders.export_event_classifier(event, options["output"])
        except ValueError as error:
            raise CommandError(f"Event {event.id}: {error}") from None

        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {header['embeddings']} embeddings of {header['identities']} people "
                f"from event {event.id} to {options['output']}; {left_out} members left out because their "
                "sharing choice is blur or hide."
            )
        )

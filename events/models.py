import secrets
import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Sharing


class UnknownFacePolicy(models.TextChoices):
    """The treatment of a photo that shows an unidentified face."""

    SHOW = "show", _("Show the photo")
    BLUR = "blur", _("Show the photo with unidentified faces blurred")
    HOLD = "hold", _("Hold the photo back from everyone")


class Role(models.TextChoices):
    ORGANIZER = "organizer", _("Organizer")
    ATTENDEE = "attendee", _("Attendee")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PROCESSING = "processing", _("Processing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def new_invite_code() -> str:
    return secrets.token_urlsafe(12)


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    invite_code = models.CharField(max_length=32, unique=True, default=new_invite_code)
    unknown_face_policy = models.CharField(
        _("photos with unidentified faces"),
        max_length=8,
        choices=UnknownFacePolicy.choices,
        default=UnknownFacePolicy.HOLD,
    )
    # Set when an enrollment change requires every face to be classified again,
    # cleared when that is done. Until then, unidentified faces are held back.
    reclassification_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ATTENDEE)
    # None means "use the person's default sharing choice".
    sharing = models.CharField(  # noqa: DJ001 (None and "" differ: None means "use the default")
        _("sharing choice for this event"), max_length=8, choices=Sharing.choices, null=True, blank=True
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="one_membership_per_event")]

    def __str__(self) -> str:
        return f"{self.user} in {self.event} ({self.role})"

    @property
    def is_organizer(self) -> bool:
        return self.role == Role.ORGANIZER

    @property
    def effective_sharing(self) -> str:
        return self.sharing or self.user.default_sharing


def photo_upload_path(photo: "Photo", filename: str) -> str:
    # The stored name carries no part of the uploader's file name.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"photos/{photo.event_id}/{photo.id}{suffix}"


class Photo(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="photos")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=photo_upload_path, max_length=255)
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded file, hex.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    error = models.TextField(blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "checksum"], name="one_copy_of_a_photo_per_event")]
        indexes = [models.Index(fields=["event", "status"])]

    def __str__(self) -> str:
        return self.original_name

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


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    """A public link to an event's gallery, seen as an anonymous viewer sees it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_share_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link {self.id} of event {self.event_id}"

    def is_active(self, now) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


def rendition_upload_path(rendition: "RenditionFile", filename: str) -> str:
    # A random name: a rendition is never reachable by a guessable path.
    return f"renditions/{rendition.photo.event_id}/{rendition.photo_id}/{secrets.token_hex(16)}.jpg"


class RenditionFile(models.Model):
    """A stored JPEG of a photo at one size with one set of faces blurred, made once and reused."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="rendition_files")
    size = models.CharField(max_length=16)
    blur_key = models.CharField(max_length=64, help_text="SHA-256 of the blurred boxes, hex.")
    file = models.FileField(upload_to=rendition_upload_path, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo", "size", "blur_key"], name="one_rendition_per_combination")
        ]

    def __str__(self) -> str:
        return f"{self.size} rendition of photo {self.photo_id}"

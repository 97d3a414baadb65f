import uuid
from pathlib import PurePath

import numpy as np
from django.conf import settings
from django.db import models

from events.models import Event, JobStatus, Photo
from recognition.schemas import Box, Decision


def selfie_upload_path(selfie: "Selfie", filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"selfies/{selfie.user_id}/{selfie.id}{suffix}"


class EmbeddingField(models.BinaryField):
    """A float32 vector stored as raw bytes (2 KB for FaceNet's 512 dimensions)."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return np.frombuffer(bytes(value), dtype=np.float32)

    def get_prep_value(self, value):
        if isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=np.float32).tobytes()
        return super().get_prep_value(value)


class Selfie(models.Model):
    """One enrollment image of an attendee and, once processed, its embedding."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="selfies")
    file = models.FileField(upload_to=selfie_upload_path, max_length=255)
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded file, hex.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    error = models.TextField(blank=True)
    embedding = EmbeddingField(null=True, editable=False)
    flipped_embedding = EmbeddingField(
        null=True, editable=False, help_text="The face mirrored left to right, enrolled as a second sample."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class FaceCluster(models.Model):
    """A group of unidentified faces of one event that seem to show the same person.

    Only faces that are not matched belong to a cluster. A reviewer may give it
    a label, and may link it to a member of the event: each face of the cluster
    then records that member in Face.linked_identities, so that their sharing
    choice applies to it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="face_clusters")
    label = models.CharField(max_length=200, blank=True, help_text="A name a reviewer gave the cluster.")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The member of the event a reviewer linked the cluster to.",
    )
    reviewed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a reviewer last merged, split or named the cluster; a rebuild keeps reviewed clusters.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.label or f"cluster {self.id}"


class Face(models.Model):
    """A face detected in a photo, with its embedding and the recognition decision.

    identity is set only when status is "matched". An uncertain face keeps its
    best guess in candidate, which the consent rule never treats as a name.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="faces")
    # Pixels of the upright (EXIF-rotated) image.
    box_x = models.IntegerField()
    box_y = models.IntegerField()
    box_width = models.PositiveIntegerField()
    box_height = models.PositiveIntegerField()
    landmarks = models.JSONField(default=dict, help_text="MTCNN's five landmarks as name: [x, y] pixels.")
    confidence = models.FloatField(help_text="MTCNN detection probability, 0 to 1.")
    cut_off = models.FloatField(default=0.0, help_text="Share of the face's box cut off by the frame, 0 to 1.")
    # Deleted when a person the face may belong to is erased (recognition.erasure):
    # the face stays, with their choice as its floor, but can never be matched again.
    embedding = EmbeddingField(null=True)
    status = models.CharField(max_length=16, choices=[(decision.value, decision.value) for decision in Decision])
    identity = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces"
    )
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    distance = models.FloatField(null=True, blank=True, help_text="L2 distance to the candidate's nearest selfie.")
    plausible_identities = models.JSONField(
        default=list,
        blank=True,
        help_text="Ids of every user the face could belong to; the consent rule applies all their choices.",
    )
    linked_identities = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Ids of every user a reviewer linked to this face through its cluster. Only the cluster actions "
            "add to it; recognition and re-clustering never remove an id."
        ),
    )
    cluster = models.ForeignKey(FaceCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    sharing_floor = models.CharField(
        max_length=8,
        blank=True,
        default="",
        help_text=(
            "The strictest sharing choice of the people this face was once linked to, kept when a link is "
            "deleted (a selfie deleted, consent withdrawn), so that deleting a match never unveils a face."
        ),
    )

    class Meta:
        ordering = ["photo", "-box_width"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(identity__isnull=True) | models.Q(status=Decision.MATCHED.value),
                name="identity_only_when_matched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} face in photo {self.photo_id}"

    def owner_ids(self) -> set[str]:
        """Return the ids of every user the face may belong to, for the consent rule.

        These are the matched identity, the plausible identities that
        classification recorded and the people a reviewer linked.
        """
        owners = set()
        for people in (self.plausible_identities, self.linked_identities):
            if isinstance(people, list):
                owners.update(str(user_id) for user_id in people)
            elif people:
                # Not a list: someone unknown, whom the rule counts as hiding.
                owners.add(f"invalid:{people!r}")
        if self.identity_id is not None:
            owners.add(str(self.identity_id))
        return owners

    @property
    def box(self) -> Box:
        return Box(self.box_x, self.box_y, self.box_width, self.box_height)

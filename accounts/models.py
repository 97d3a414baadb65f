import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Sharing(models.TextChoices):
    """An attendee's permission for photos that show them."""

    SHARE = "share", _("Share: show photos of me")
    BLUR = "blur", _("Blur: show photos with my face blurred")
    HIDE = "hide", _("Hide: show photos of me to nobody but me")


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Hide until the person chooses, so that a missing choice never shows them.
    default_sharing = models.CharField(
        _("default sharing choice"), max_length=8, choices=Sharing.choices, default=Sharing.HIDE
    )
    biometric_consent_at = models.DateTimeField(_("consent to biometric processing given at"), null=True, blank=True)

    @property
    def has_biometric_consent(self) -> bool:
        return self.biometric_consent_at is not None


class AuditAction(models.TextChoices):
    CONSENT_GIVEN = "consent_given", _("Consent given")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    SHARING_CHANGED = "sharing_changed", _("Sharing choice changed")
    POLICY_CHANGED = "policy_changed", _("Event policy changed")
    REVIEW_DECISION = "review_decision", _("Review decision")
    SELFIE_DELETED = "selfie_deleted", _("Selfie deleted")
    EVENT_LEFT = "event_left", _("Left an event")
    EVENT_DELETED = "event_deleted", _("Event deleted")
    ACCOUNT_DELETED = "account_deleted", _("Account deleted")
    DATA_EXPORTED = "data_exported", _("Personal data exported")
    CLASSIFIER_EXPORTED = "classifier_exported", _("Classifier exported")
    SHARE_LINK_CREATED = "share_link_created", _("Share link created")
    SHARE_LINK_REVOKED = "share_link_revoked", _("Share link revoked")


class AuditEntry(models.Model):
    """One privacy-relevant action, kept after the people and events it names are deleted.

    Ids are stored without foreign keys so that an erasure leaves its own record,
    and details hold no names, e-mail addresses or file names.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    actor_id = models.UUIDField(null=True, blank=True, help_text="The user who acted; empty for the system.")
    subject_id = models.UUIDField(null=True, blank=True, help_text="The user the action was about.")
    event_id = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"

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

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Sharing, User


class SignUpForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts up to FACEGATE_MAX_FILES_PER_UPLOAD files and returns them as a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,.heic,.heif"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = list(data) if isinstance(data, (list, tuple)) else [super().clean(data, initial)]
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")

        limit = settings.FACEGATE_MAX_FILES_PER_UPLOAD
        if len(files) > limit:
            raise forms.ValidationError(
                _("Upload at most %(limit)d files at once; you chose %(count)d. Send the rest in another batch."),
                code="too_many_files",
                params={"limit": limit, "count": len(files)},
            )
        return files


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        label=_(
            "I agree that Facegate computes a biometric template (a face embedding) from my selfies "
            "and compares it with the faces in the photos of the events I join. I can withdraw this "
            "consent at any time, which deletes my selfies, templates and matches."
        ),
        required=True,
    )
    default_sharing = forms.ChoiceField(label=_("Default sharing choice"), choices=Sharing.choices)


class SharingDefaultForm(forms.Form):
    default_sharing = forms.ChoiceField(label=_("Default sharing choice"), choices=Sharing.choices)


class SelfieUploadForm(forms.Form):
    files = MultipleFileField(label=_("Selfies"))

from django import forms
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
    """A file field that accepts several files and returns them as a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,.heic,.heif"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return list(data)
        return [super().clean(data, initial)]


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

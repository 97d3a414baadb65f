from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import MultipleFileField
from accounts.models import Sharing
from events.models import Event

USE_DEFAULT = ""


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ("name", "unknown_face_policy")


class PhotoUploadForm(forms.Form):
    files = MultipleFileField(label=_("Photos"))


class EventSharingForm(forms.Form):
    sharing = forms.ChoiceField(
        label=_("Sharing choice for this event"),
        choices=[(USE_DEFAULT, _("Use my default choice")), *Sharing.choices],
        required=False,
    )

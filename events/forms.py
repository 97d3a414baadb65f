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


class ShareLinkForm(forms.Form):
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        help_text=_("Leave empty for a link that works until you revoke it."),
        min_value=1,
        max_value=365,
        required=False,
    )

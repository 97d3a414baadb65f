"""Page flows through the Django test client: accounts, events, consent and language."""

import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, Membership, Role
from recognition.models import Selfie
from tests.conftest import upload_of


@pytest.mark.django_db
def test_sign_up_logs_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "nora",
            "email": "nora@example.org",
            "password1": "a quiet evening",
            "password2": "a quiet evening",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert client.get(reverse("events:home")).context["user"].username == "nora"


@pytest.mark.django_db
def test_create_event_makes_organizer(client, organizer):
    client.force_login(organizer)

    response = client.post(reverse("events:create"), {"name": "Graduation", "unknown_face_policy": "blur"})

    event = Event.objects.get(name="Graduation")
    assert response["Location"] == reverse("events:gallery", args=[event.id])
    assert event.unknown_face_policy == "blur"
    assert Membership.objects.get(event=event, user=organizer).role == Role.ORGANIZER


@pytest.mark.django_db
def test_join_by_invite_code(client, event, stranger):
    client.force_login(stranger)

    page = client.get(reverse("events:join_by_code"), {"code": event.invite_code}, follow=True)
    client.post(reverse("events:join", args=[event.invite_code]))

    assert page.status_code == HTTPStatus.OK
    assert Membership.objects.get(event=event, user=stranger).role == Role.ATTENDEE


@pytest.mark.django_db
def test_join_with_wrong_code_not_found(client, stranger):
    client.force_login(stranger)

    assert client.get(reverse("events:join", args=["no-such-code"])).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_consent_needs_checkbox(client, attendee):
    client.force_login(attendee)

    client.post(reverse("accounts:give_consent"), {"default_sharing": Sharing.SHARE})

    attendee.refresh_from_db()
    assert attendee.biometric_consent_at is None


@pytest.mark.django_db
def test_consent_with_checkbox_recorded(client, attendee):
    client.force_login(attendee)

    client.post(reverse("accounts:give_consent"), {"consent": "on", "default_sharing": Sharing.BLUR})

    attendee.refresh_from_db()
    assert attendee.biometric_consent_at is not None
    assert attendee.default_sharing == Sharing.BLUR


@pytest.mark.django_db
def test_selfie_upload_rejected_without_consent(client, attendee, jobs):
    client.force_login(attendee)

    response = client.post(reverse("accounts:upload_selfies"), {"files": []}, follow=True)

    assert "Give your consent" in response.content.decode()
    assert jobs.sent == []


@pytest.mark.django_db
def test_event_sharing_override_saved(client, event, attendee):
    client.force_login(attendee)

    client.post(reverse("events:sharing", args=[event.id]), {"sharing": Sharing.HIDE})

    membership = Membership.objects.get(event=event, user=attendee)
    assert membership.sharing == Sharing.HIDE
    assert membership.effective_sharing == Sharing.HIDE


@pytest.mark.django_db
def test_event_sharing_back_to_default(client, event, attendee):
    Membership.objects.filter(event=event, user=attendee).update(sharing=Sharing.HIDE)
    client.force_login(attendee)

    client.post(reverse("events:sharing", args=[event.id]), {"sharing": ""})

    membership = Membership.objects.get(event=event, user=attendee)
    assert membership.sharing is None
    assert membership.effective_sharing == User.objects.get(id=attendee.id).default_sharing


@pytest.mark.django_db
def test_pages_in_french(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr")

    assert '<html lang="fr">' in response.content.decode()
    assert "Se connecter" in response.content.decode()


@pytest.mark.django_db
def test_health_check(client):
    assert client.get(reverse("health")).content == b"ok"


@pytest.mark.django_db
def test_sign_up_returns_to_invite(client, event):
    join_url = reverse("events:join", args=[event.invite_code])

    response = client.post(
        reverse("accounts:signup"),
        {"username": "lea", "password1": "a quiet evening", "password2": "a quiet evening", "next": join_url},
    )

    assert response["Location"] == join_url


@pytest.mark.django_db
def test_sign_up_ignores_foreign_next(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "lea",
            "password1": "a quiet evening",
            "password2": "a quiet evening",
            "next": "https://evil.test/",
        },
    )

    assert response["Location"] == reverse("events:home")


@pytest.mark.django_db
def test_login_page_passes_next_to_sign_up(client, event):
    join_url = reverse("events:join", args=[event.invite_code])

    page = client.get(reverse("login"), {"next": join_url}).content.decode()

    # Both the page's link and the header's link keep the invite.
    assert page.count(f'href="{reverse("accounts:signup")}?next=/join/{event.invite_code}/"') == 2


@pytest.mark.django_db
def test_organizer_changes_unknown_face_policy(client, event, organizer):
    client.force_login(organizer)

    client.post(reverse("events:settings", args=[event.id]), {"name": "Spring gala", "unknown_face_policy": "blur"})

    event.refresh_from_db()
    assert event.unknown_face_policy == "blur"


@pytest.mark.django_db
def test_settings_hidden_from_attendee(client, event, attendee):
    client.force_login(attendee)

    response = client.post(reverse("events:settings", args=[event.id]), {"name": "Mine", "unknown_face_policy": "show"})

    event.refresh_from_db()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert event.unknown_face_policy == "hold"


@pytest.mark.django_db
def test_selfie_deleted_only_by_owner(client, attendee, stranger, jobs):
    account_services.give_consent(attendee, Sharing.SHARE)
    selfies, _ = account_services.add_selfies(attendee, [upload_of("identities/barack_obama/fr_obama.jpg")])
    url = reverse("accounts:delete_selfie", args=[selfies[0].id])

    client.force_login(stranger)
    rejected = client.post(url)
    client.force_login(attendee)
    accepted = client.post(url)

    assert rejected.status_code == HTTPStatus.NOT_FOUND
    assert accepted.status_code == HTTPStatus.FOUND
    assert not Selfie.objects.filter(id=selfies[0].id).exists()


@pytest.mark.django_db
def test_join_points_to_enrollment(client, event, stranger):
    client.force_login(stranger)

    response = client.post(reverse("events:join", args=[event.invite_code]), follow=True)

    assert "give your consent and add a few selfies" in response.content.decode()


@pytest.mark.django_db
def test_malformed_invite_code_explained(client, stranger):
    client.force_login(stranger)

    response = client.get(reverse("events:join_by_code"), {"code": "a/b"}, follow=True)

    assert response.status_code == HTTPStatus.OK
    assert "No event has the invite code a/b" in response.content.decode()


@pytest.mark.django_db
def test_too_many_files_named(client, event, organizer, settings, jobs):
    settings.FACEGATE_MAX_FILES_PER_UPLOAD = 2
    client.force_login(organizer)
    files = [upload_of(path) for path in ("group/df_couple.jpg", "group/fr_two_people.jpg", "noface/pil_flower2.jpg")]

    response = client.post(reverse("events:upload", args=[event.id]), {"files": files})

    assert response.status_code == HTTPStatus.OK
    assert "Upload at most 2 files at once; you chose 3." in response.content.decode()
    assert jobs.sent == []


@pytest.mark.django_db
def test_selfie_duplicates_and_limit(attendee, settings):
    settings.FACEGATE_MAX_SELFIES_PER_PERSON = 2
    account_services.give_consent(attendee, Sharing.SHARE)
    names = ["df_img1.jpg", "df_img1.jpg", "df_img2.jpg", "df_img4.jpg"]

    selfies, problems = account_services.add_selfies(
        attendee, [upload_of(f"identities/angelina_jolie/{name}") for name in names]
    )

    assert [selfie.original_name for selfie in selfies] == ["df_img1.jpg", "df_img2.jpg"]
    assert "df_img1.jpg is already one of your selfies" in problems[0].message
    assert "df_img4.jpg was not added: you can keep at most 2 selfies" in problems[1].message


@pytest.mark.django_db
def test_signed_in_pages_not_cached(client, event, attendee):
    client.force_login(attendee)

    response = client.get(reverse("events:gallery", args=[event.id]))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_debug_off_by_default():
    from django.conf import settings

    assert settings.DEBUG is False


@pytest.mark.django_db
def test_upload_page_lists_uploads_by_page(client, event, organizer, settings, jobs):
    settings.FACEGATE_GALLERY_PAGE_SIZE = 2
    names = ["group/df_couple.jpg", "group/fr_two_people.jpg", "noface/pil_flower2.jpg"]
    event_services.upload_photos(event, organizer, [upload_of(path) for path in names])
    client.force_login(organizer)

    first = client.get(reverse("events:upload", args=[event.id])).content.decode()
    second = client.get(reverse("events:upload", args=[event.id]), {"page": 2}).content.decode()

    # Newest first, two per page, every upload on one of them.
    assert first.count('class="status-pending"') == 2
    assert second.count('class="status-pending"') == 1
    assert "pil_flower2.jpg" in first
    assert "df_couple.jpg" in second
    assert "Page 1 of 2" in first


# Words that French writes the same way.
SAME_IN_FRENCH = {"Pages", "Photo", "Photos", "Selfies"}
TEMPLATE_STRING = re.compile(r"""{% translate "([^"]+)"|{% translate '([^']+)'""")
CODE_STRING = re.compile(r"""\b_\("([^"]+)"\)""")


def test_every_interface_string_has_french():
    base = Path(settings.BASE_DIR)
    strings = set()
    for path in (base / "templates").rglob("*.html"):
        strings.update(first or second for first, second in TEMPLATE_STRING.findall(path.read_text()))
    for app in ("accounts", "events"):
        for path in (base / app).glob("*.py"):
            strings.update(CODE_STRING.findall(path.read_text()))

    with translation.override("fr"):
        untranslated = sorted(text for text in strings - SAME_IN_FRENCH if gettext(text) == text)

    assert len(strings) > 80
    assert untranslated == []

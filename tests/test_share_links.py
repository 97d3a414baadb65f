"""Public share links: an anonymous viewer's rule, revocation, expiry, and nothing that names anyone."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry
from events import services as event_services
from events.models import ShareLink


def _shared(client, link, photo=None, size="thumb"):
    if photo is None:
        return client.get(reverse("events:shared_gallery", args=[link.token]))
    return client.get(reverse("events:shared_photo_image", args=[link.token, photo.id, size]))


@pytest.mark.django_db(transaction=True)
def test_link_shows_only_what_everyone_allows(client, two_people_event):
    scene = two_people_event
    link = event_services.create_share_link(scene.event, scene.organizer, None)

    page = _shared(client, link)

    assert page.status_code == HTTPStatus.OK
    assert b"1 photo" in page.content
    assert str(scene.sharer_photo.id).encode() in page.content
    assert str(scene.hider_photo.id).encode() not in page.content
    assert _shared(client, link, scene.sharer_photo, "large").status_code == HTTPStatus.OK
    assert _shared(client, link, scene.hider_photo, "large").status_code == HTTPStatus.NOT_FOUND
    # The photo's page, with its way back to the gallery.
    photo_page = client.get(reverse("events:shared_photo", args=[link.token, scene.sharer_photo.id]))
    assert photo_page.status_code == HTTPStatus.OK
    assert reverse("events:shared_gallery", args=[link.token]).encode() in photo_page.content
    assert photo_page["Referrer-Policy"] == "no-referrer"
    hidden_page = client.get(reverse("events:shared_photo", args=[link.token, scene.hider_photo.id]))
    assert hidden_page.status_code == HTTPStatus.NOT_FOUND
    # No original size through a link, and no name, file name or account anywhere.
    assert _shared(client, link, scene.sharer_photo, "original").status_code == HTTPStatus.NOT_FOUND
    for revealing in ("arthur", "hilda", "olivia", "fr_biden2", "photos/", str(scene.sharer.id)):
        assert revealing.encode() not in page.content


@pytest.mark.django_db(transaction=True)
def test_link_is_anonymous_even_for_the_hider(client, two_people_event):
    scene = two_people_event
    link = event_services.create_share_link(scene.event, scene.organizer, None)
    client.force_login(scene.hider)

    # Logged in, she sees her photo. Through the link, she does not.
    assert client.get(reverse("events:photo_image", args=[scene.hider_photo.id, "thumb"])).status_code == 200
    assert _shared(client, link, scene.hider_photo).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db(transaction=True)
def test_revoked_and_expired_links_open_nothing(client, two_people_event):
    scene = two_people_event
    revoked = event_services.create_share_link(scene.event, scene.organizer, None)
    expired = event_services.create_share_link(scene.event, scene.organizer, 1)
    ShareLink.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    working_before = _shared(client, revoked).status_code

    event_services.revoke_share_link(revoked, scene.organizer)

    assert working_before == HTTPStatus.OK
    for link in (revoked, expired):
        assert _shared(client, link).status_code == HTTPStatus.NOT_FOUND
        assert _shared(client, link, scene.sharer_photo).status_code == HTTPStatus.NOT_FOUND
    assert client.get(reverse("events:shared_gallery", args=["not-a-token"])).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db(transaction=True)
def test_link_responses_keep_the_token_private(client, two_people_event):
    scene = two_people_event
    link = event_services.create_share_link(scene.event, scene.organizer, None)

    for response in (_shared(client, link), _shared(client, link, scene.sharer_photo)):
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_only_the_organizer_manages_links(client, two_people_event):
    scene = two_people_event
    links_page = reverse("events:share_links", args=[scene.event.id])

    client.force_login(scene.sharer)
    attendee_view = client.get(links_page).status_code
    attendee_create = client.post(links_page, {"expires_in_days": ""}).status_code
    client.force_login(scene.organizer)
    client.post(links_page, {"expires_in_days": "7"})
    link = ShareLink.objects.get(event=scene.event)
    listed = client.get(links_page)
    client.force_login(scene.sharer)
    attendee_revoke = client.post(reverse("events:revoke_share_link", args=[scene.event.id, link.id])).status_code
    client.force_login(scene.organizer)
    client.post(reverse("events:revoke_share_link", args=[scene.event.id, link.id]))

    assert (attendee_view, attendee_create, attendee_revoke) == (404, 404, 404)
    assert link.token.encode() in listed.content
    assert timedelta(days=6, hours=23) < link.expires_at - link.created_at <= timedelta(days=7)
    assert ShareLink.objects.get(id=link.id).revoked_at is not None
    actions = list(AuditEntry.objects.filter(event_id=scene.event.id).values_list("action", "actor_id"))
    assert sorted(actions) == sorted(
        [(AuditAction.SHARE_LINK_CREATED, scene.organizer.id), (AuditAction.SHARE_LINK_REVOKED, scene.organizer.id)]
    )

"""The REST API returns what the pages show, through the same rule, and no names, boxes or paths."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.conftest import make_user


def _get(client, user, name, *args):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(reverse(name, args=args), HTTP_ACCEPT="application/json")


@pytest.mark.django_db(transaction=True)
def test_api_lists_only_visible_photos(client, two_people_event):
    scene = two_people_event

    events = _get(client, scene.sharer, "api:events").json()
    photos = _get(client, scene.sharer, "api:event_photos", scene.event.id).json()
    own = _get(client, scene.hider, "api:event_photos", scene.event.id).json()

    assert [(event["name"], event["photo_count"]) for event in events] == [("Spring gala", 1)]
    assert photos["count"] == 1
    assert [photo["id"] for photo in photos["results"]] == [str(scene.sharer_photo.id)]
    assert own["count"] == 2
    assert set(photos["results"][0]) == {"id", "width", "height", "uploaded_at", "blurred_faces", "images", "download"}


@pytest.mark.django_db(transaction=True)
def test_api_photo_refused_like_a_missing_one(client, two_people_event):
    scene = two_people_event
    stranger = make_user("sam")

    visible = _get(client, scene.sharer, "api:photo", scene.sharer_photo.id)
    withheld = _get(client, scene.sharer, "api:photo", scene.hider_photo.id)
    strangers = _get(client, stranger, "api:event_photos", scene.event.id)
    anonymous = _get(client, None, "api:events")

    assert visible.status_code == HTTPStatus.OK
    assert visible.json()["images"]["thumb"].endswith(f"/photos/{scene.sharer_photo.id}/image/thumb/")
    assert withheld.status_code == HTTPStatus.NOT_FOUND
    assert strangers.status_code == HTTPStatus.NOT_FOUND
    assert anonymous.status_code == HTTPStatus.FORBIDDEN

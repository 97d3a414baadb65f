"""The read-only REST API: the same events and photos as the pages, through the same rule.

Photos are listed with the rule's database query and checked one by one with
photo_rendition, as in the gallery. Image addresses point at the pages' own
image views, so an API client receives no file path, face box or name.
"""

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from events.models import Membership, Photo
from events.visibility import (
    EventAccess,
    event_access,
    event_summary,
    member_photo,
    photos_with_faces,
    visible_photo_queryset,
    visible_photos,
)


class PhotoPagination(PageNumberPagination):
    page_size = settings.FACEGATE_GALLERY_PAGE_SIZE


def _photo_data(request, photo: Photo, rendition) -> dict:
    def absolute(name: str, *args) -> str:
        return request.build_absolute_uri(reverse(name, args=[photo.id, *args]))

    return {
        "id": str(photo.id),
        "width": photo.width,
        "height": photo.height,
        "uploaded_at": serializers.DateTimeField().to_representation(photo.uploaded_at),
        "blurred_faces": len(rendition.blurred_boxes),
        "images": {size: absolute("events:photo_image", size) for size in ("thumb", "large", "original")},
        "download": absolute("events:photo_download"),
    }


def _access_or_404(request, event_id) -> EventAccess:
    access = event_access(request.user, event_id)
    if access is None:
        raise Http404
    return access


@api_view(["GET"])
def events(request):
    """List the viewer's events, with the number of photos they may see in each."""
    data = []
    for membership in Membership.objects.filter(user=request.user).select_related("event"):
        count, _ = event_summary(event_access(request.user, membership.event_id))
        data.append(
            {
                "id": str(membership.event_id),
                "name": membership.event.name,
                "role": membership.role,
                "photo_count": count,
                "photos": request.build_absolute_uri(reverse("api:event_photos", args=[membership.event_id])),
            }
        )
    return Response(data)


@api_view(["GET"])
def event_photos(request, event_id):
    """List one page of the event's photos that the viewer may see."""
    access = _access_or_404(request, event_id)

    paginator = PhotoPagination()
    photos = photos_with_faces(visible_photo_queryset(access).order_by("uploaded_at", "id"))
    visible = visible_photos(access, paginator.paginate_queryset(photos, request))
    return paginator.get_paginated_response([_photo_data(request, photo, rendition) for photo, rendition in visible])


@api_view(["GET"])
def photo(request, photo_id):
    """Return one photo when the viewer may see it, else the same 404 as for a photo that does not exist."""
    found = member_photo(request.user, photo_id)
    if found is None:
        raise Http404
    _, visible, rendition = found
    return Response(_photo_data(request, visible, rendition))

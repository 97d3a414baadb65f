from django.urls import path

from events import api

app_name = "api"

urlpatterns = [
    path("events/", api.events, name="events"),
    path("events/<uuid:event_id>/photos/", api.event_photos, name="event_photos"),
    path("photos/<uuid:photo_id>/", api.photo, name="photo"),
]

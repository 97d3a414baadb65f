from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.home, name="home"),
    path("events/new/", views.create_event, name="create"),
    path("events/<uuid:event_id>/", views.gallery, name="gallery"),
    path("events/<uuid:event_id>/me/", views.photos_of_me, name="photos_of_me"),
    path("events/<uuid:event_id>/upload/", views.upload, name="upload"),
    path("events/<uuid:event_id>/sharing/", views.sharing, name="sharing"),
    path("events/<uuid:event_id>/invite/", views.invite, name="invite"),
    path("events/<uuid:event_id>/settings/", views.event_settings, name="settings"),
    path("events/<uuid:event_id>/links/", views.share_links, name="share_links"),
    path("events/<uuid:event_id>/links/<uuid:link_id>/revoke/", views.revoke_share_link, name="revoke_share_link"),
    path("join/", views.join_by_code, name="join_by_code"),
    path("join/<str:invite_code>/", views.join, name="join"),
    path("photos/<uuid:photo_id>/", views.photo_detail, name="photo"),
    path("photos/<uuid:photo_id>/image/<str:size>/", views.photo_image, name="photo_image"),
    path("photos/<uuid:photo_id>/download/", views.photo_download, name="photo_download"),
    path("photos/<uuid:photo_id>/retry/", views.retry, name="retry"),
    path("s/<str:token>/", views.shared_gallery, name="shared_gallery"),
    path("s/<str:token>/<uuid:photo_id>/", views.shared_photo, name="shared_photo"),
    path("s/<str:token>/<uuid:photo_id>/<str:size>/", views.shared_photo_image, name="shared_photo_image"),
    path("events/<uuid:event_id>/leave/", views.leave_event, name="leave"),
    path("events/<uuid:event_id>/delete/", views.delete_event, name="delete"),
]

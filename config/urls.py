from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from accounts.urls import auth_urlpatterns


def health(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", include("events.urls")),
    path("api/", include("events.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include(auth_urlpatterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]

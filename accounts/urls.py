from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("me/", views.enrollment, name="enrollment"),
    path("me/consent/", views.give_consent, name="give_consent"),
    path("me/consent/withdraw/", views.withdraw_consent, name="withdraw_consent"),
    path("me/sharing/", views.set_default_sharing, name="set_default_sharing"),
    path("me/selfies/", views.upload_selfies, name="upload_selfies"),
    path("me/selfies/<uuid:selfie_id>/image/", views.selfie_image, name="selfie_image"),
    path("me/selfies/<uuid:selfie_id>/delete/", views.delete_selfie, name="delete_selfie"),
    path("me/data/", views.download_data, name="download_data"),
    path("me/delete/", views.delete_account, name="delete_account"),
]

# Django's own login and logout views, named as django.contrib.auth expects.
auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

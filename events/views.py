"""Event pages and image responses. Every photo goes through events.visibility."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events import delivery, services
from events.forms import USE_DEFAULT, EventForm, EventSharingForm, PhotoUploadForm
from events.models import Event, JobStatus, Membership, Photo
from events.rendering import SIZES, stored_rendition
from events.visibility import EventAccess, event_access, photo_rendition, photos_with_faces, visible_photos


def _access_or_404(request, event_id) -> EventAccess:
    # Strangers get the same 404 as for a missing event: never confirm it exists.
    access = event_access(request.user, event_id)
    if access is None:
        raise Http404
    return access


def _organizer_access_or_404(request, event_id) -> EventAccess:
    access = _access_or_404(request, event_id)
    if not access.is_organizer:
        raise Http404
    return access


def _visible_photo_or_404(request, photo_id):
    photo = photos_with_faces(Photo.objects.filter(id=photo_id)).first()
    if photo is None:
        raise Http404
    access = _access_or_404(request, photo.event_id)
    rendition = photo_rendition(access, photo)
    if rendition is None:
        raise Http404
    return access, photo, rendition


# Invite codes come from secrets.token_urlsafe: letters, digits, "-" and "_".
INVITE_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _is_enrolled(user) -> bool:
    return user.has_biometric_consent and user.selfies.filter(status=JobStatus.DONE).exists()


@login_required
def home(request):
    memberships = Membership.objects.filter(user=request.user).select_related("event")
    return render(request, "events/home.html", {"memberships": memberships})


@login_required
def create_event(request):
    form = EventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        event = services.create_event(request.user, form.cleaned_data["name"], form.cleaned_data["unknown_face_policy"])
        return redirect("events:gallery", event_id=event.id)
    return render(request, "events/event_form.html", {"form": form})


@login_required
def join(request, invite_code):
    event = Event.objects.filter(invite_code=invite_code).first()
    if event is None:
        raise Http404
    if request.method == "POST":
        services.join_event(request.user, invite_code)
        messages.success(request, _("You joined %(event)s.") % {"event": event.name})
        if not request.user.has_biometric_consent:
            messages.info(
                request,
                _(
                    "Next, give your consent and add a few selfies under “My selfies and consent”, "
                    "so that Facegate can apply your sharing choice to photos of you."
                ),
            )
        return redirect("events:gallery", event_id=event.id)
    return render(request, "events/join.html", {"event": event})


@login_required
def join_by_code(request):
    code = request.GET.get("code", "").strip()
    if not code:
        return redirect("events:home")
    if not INVITE_CODE_PATTERN.fullmatch(code):
        messages.error(
            request, _("No event has the invite code %(code)s. Check the code and try again.") % {"code": code[:40]}
        )
        return redirect("events:home")
    return redirect("events:join", invite_code=code)


@login_required
def gallery(request, event_id):
    access = _access_or_404(request, event_id)
    photos = visible_photos(access)
    context = {
        "access": access,
        "event": access.event,
        "photos": photos,
        "title": access.event.name,
        "enrolled": _is_enrolled(request.user),
    }
    return render(request, "events/gallery.html", context)


@login_required
def photos_of_me(request, event_id):
    access = _access_or_404(request, event_id)
    mine = photos_with_faces(access.event.photos.filter(faces__identity=request.user).distinct())
    photos = visible_photos(access, mine)
    context = {
        "access": access,
        "event": access.event,
        "photos": photos,
        "title": _("Photos of me"),
        "enrolled": _is_enrolled(request.user),
    }
    return render(request, "events/gallery.html", context)


@login_required
def upload(request, event_id):
    access = _organizer_access_or_404(request, event_id)
    form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = services.upload_photos(access.event, request.user, form.cleaned_data["files"])
        for problem in result.problems:
            messages.error(request, problem.message)
        if result.photos:
            messages.success(
                request, _("%(count)d photos received; they are being processed.") % {"count": len(result.photos)}
            )
        return redirect("events:upload", event_id=event_id)

    photos = photos_with_faces(access.event.photos.filter(uploaded_by=request.user).order_by("-uploaded_at"))
    rows = [(photo, photo_rendition(access, photo)) for photo in photos]
    busy = any(photo.status in (JobStatus.PENDING, JobStatus.PROCESSING) for photo, _ in rows)
    context = {"event": access.event, "access": access, "form": form, "rows": rows, "busy": busy}
    return render(request, "events/upload.html", context)


@login_required
@require_POST
def retry(request, photo_id):
    photo = Photo.objects.filter(id=photo_id, uploaded_by=request.user).first()
    if photo is None:
        raise Http404
    _organizer_access_or_404(request, photo.event_id)
    services.retry_photo(photo)
    return redirect("events:upload", event_id=photo.event_id)


@login_required
def sharing(request, event_id):
    access = _access_or_404(request, event_id)
    membership = access.membership
    form = EventSharingForm(request.POST or None, initial={"sharing": membership.sharing or USE_DEFAULT})
    if request.method == "POST" and form.is_valid():
        services.set_event_sharing(membership, form.cleaned_data["sharing"] or None)
        messages.success(request, _("Your sharing choice for this event is saved."))
        return redirect("events:gallery", event_id=event_id)
    return render(request, "events/sharing.html", {"event": access.event, "access": access, "form": form})


@login_required
def event_settings(request, event_id):
    access = _organizer_access_or_404(request, event_id)
    form = EventForm(request.POST or None, instance=access.event)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The event settings are saved."))
        return redirect("events:gallery", event_id=event_id)
    return render(request, "events/settings.html", {"event": access.event, "access": access, "form": form})


@login_required
def invite(request, event_id):
    access = _organizer_access_or_404(request, event_id)
    link = request.build_absolute_uri(reverse("events:join", args=[access.event.invite_code]))
    return render(request, "events/invite.html", {"event": access.event, "access": access, "link": link})


@login_required
def photo_detail(request, photo_id):
    access, photo, rendition = _visible_photo_or_404(request, photo_id)
    context = {"event": access.event, "access": access, "photo": photo, "blurred": len(rendition.blurred_boxes)}
    return render(request, "events/photo.html", context)


@login_required
def photo_image(request, photo_id, size):
    if size not in SIZES:
        raise Http404
    _, photo, rendition = _visible_photo_or_404(request, photo_id)
    return _image_response(photo, rendition, size)


@login_required
def photo_download(request, photo_id):
    _, photo, rendition = _visible_photo_or_404(request, photo_id)
    return _image_response(photo, rendition, "original", attachment=True)


def _image_response(photo, rendition, size, *, attachment: bool = False) -> HttpResponse:
    try:
        stored = stored_rendition(photo, rendition, size)
    except ValueError:
        # Only the uploader can reach an unprocessed photo, which may not decode.
        raise Http404 from None
    return delivery.stored_image_response(stored.file, filename=f"facegate-{photo.id}.jpg", attachment=attachment)

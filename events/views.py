"""Event pages and image responses. Every photo goes through events.visibility."""

import logging
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events import delivery, services
from events.forms import USE_DEFAULT, EventForm, EventSharingForm, PhotoUploadForm, ShareLinkForm
from events.models import Event, JobStatus, Membership, Photo, RenditionFile, ShareLink
from events.rendering import SIZES, stored_rendition
from events.visibility import (
    EventAccess,
    event_access,
    event_summary,
    member_photo,
    photos_with_faces,
    share_link_access,
    visible_photo,
    visible_photo_queryset,
    visible_photos,
)
from recognition.models import Face

logger = logging.getLogger(__name__)


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
    # A missing photo, another event's photo and a withheld one get the same 404.
    found = member_photo(request.user, photo_id)
    if found is None:
        raise Http404
    return found


def _gallery_page(request, access: EventAccess, photos):
    """Return one page of the photos, already filtered by the rule, with each photo's rendition."""
    paginator = Paginator(photos.order_by("uploaded_at", "id"), settings.FACEGATE_GALLERY_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = visible_photos(access, photos_with_faces(page.object_list))
    return page


# Invite codes come from secrets.token_urlsafe: letters, digits, "-" and "_".
INVITE_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _is_enrolled(user) -> bool:
    return user.has_biometric_consent and user.selfies.filter(status=JobStatus.DONE).exists()


@login_required
def home(request):
    memberships = Membership.objects.filter(user=request.user).select_related("event")
    # Each count and cover goes through the rule, as the gallery does.
    cards = [
        (membership, *event_summary(event_access(request.user, membership.event_id))) for membership in memberships
    ]
    return render(request, "events/home.html", {"cards": cards})


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
    context = {
        "access": access,
        "event": access.event,
        "page": _gallery_page(request, access, visible_photo_queryset(access)),
        "title": access.event.name,
        "enrolled": _is_enrolled(request.user),
    }
    return render(request, "events/gallery.html", context)


@login_required
def photos_of_me(request, event_id):
    access = _access_or_404(request, event_id)
    mine = Face.objects.filter(photo=OuterRef("pk"), identity=request.user)
    context = {
        "access": access,
        "event": access.event,
        "page": _gallery_page(request, access, visible_photo_queryset(access).filter(Exists(mine))),
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

    uploads = access.event.photos.filter(uploaded_by=request.user).order_by("-uploaded_at", "id")
    # Names and statuses only: which uploads the rule withholds would point at the people who hide.
    page = Paginator(uploads, settings.FACEGATE_GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    busy = uploads.filter(status__in=[JobStatus.PENDING, JobStatus.PROCESSING]).exists()
    context = {"event": access.event, "access": access, "form": form, "page": page, "busy": busy}
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
        services.update_event_settings(
            access.event, request.user, form.cleaned_data["name"], form.cleaned_data["unknown_face_policy"]
        )
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
    filename = f"facegate-{photo.id}.jpg"
    try:
        stored = stored_rendition(photo, rendition, size)
    except ValueError:
        # Only the uploader can reach an unprocessed photo, which may not decode.
        raise Http404 from None

    try:
        return delivery.stored_image_response(stored.file, filename=filename, attachment=attachment)
    except FileNotFoundError:
        # A choice change deleted this copy while the request ran: make it again.
        logger.info("Rendition %s of photo %s vanished while served; rendering it again", stored.id, photo.id)
        RenditionFile.objects.filter(id=stored.id).delete()
        stored = stored_rendition(photo, rendition, size)
        return delivery.stored_image_response(stored.file, filename=filename, attachment=attachment)


@login_required
def share_links(request, event_id):
    access = _organizer_access_or_404(request, event_id)
    form = ShareLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.create_share_link(access.event, request.user, form.cleaned_data["expires_in_days"])
        messages.success(request, _("The share link is ready. Anyone who has it sees the photos everyone allows."))
        return redirect("events:share_links", event_id=event_id)

    links = [
        (link, request.build_absolute_uri(reverse("events:shared_gallery", args=[link.token])))
        for link in access.event.share_links.filter(revoked_at__isnull=True)
    ]
    context = {"event": access.event, "access": access, "form": form, "links": links, "now": timezone.now()}
    return render(request, "events/share_links.html", context)


@login_required
@require_POST
def revoke_share_link(request, event_id, link_id):
    access = _organizer_access_or_404(request, event_id)
    link = ShareLink.objects.filter(id=link_id, event=access.event).first()
    if link is None:
        raise Http404
    services.revoke_share_link(link, request.user)
    messages.success(request, _("The share link is revoked; it no longer opens the gallery."))
    return redirect("events:share_links", event_id=event_id)


def _share_link_access_or_404(token) -> EventAccess:
    # Revoked, expired and unknown links all get the same 404.
    found = share_link_access(token)
    if found is None:
        raise Http404
    return found[1]


def shared_gallery(request, token):
    access = _share_link_access_or_404(token)
    context = {
        "event": access.event,
        "token": token,
        "page": _gallery_page(request, access, visible_photo_queryset(access)),
    }
    return _private(render(request, "events/shared_gallery.html", context))


def _shared_photo_or_404(token, photo_id):
    access = _share_link_access_or_404(token)
    found = visible_photo(access, photo_id)
    if found is None:
        raise Http404
    return access, *found


def shared_photo(request, token, photo_id):
    access, photo, rendition = _shared_photo_or_404(token, photo_id)
    context = {"event": access.event, "token": token, "photo": photo, "blurred": len(rendition.blurred_boxes)}
    return _private(render(request, "events/shared_photo.html", context))


def shared_photo_image(request, token, photo_id, size):
    if size not in ("thumb", "large"):
        raise Http404
    _, photo, rendition = _shared_photo_or_404(token, photo_id)
    return _private(_image_response(photo, rendition, size))


def _private(response):
    # The token is the key: no referrer may carry it away, and no search engine may index it.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def leave_event(request, event_id):
    access = _access_or_404(request, event_id)
    # The organizer deletes the event instead; the page offers them no way to leave.
    if access.is_organizer:
        raise Http404

    if request.method == "POST":
        services.leave_event(access.membership)
        messages.success(request, _("You left %(event)s.") % {"event": access.event.name})
        return redirect("events:home")
    return render(request, "events/leave.html", {"event": access.event, "access": access})


@login_required
def delete_event(request, event_id):
    access = _organizer_access_or_404(request, event_id)
    if request.method == "POST":
        services.delete_event(access.event, request.user)
        messages.success(request, _("The event %(event)s is deleted.") % {"event": access.event.name})
        return redirect("events:home")

    context = {
        "event": access.event,
        "access": access,
        "member_count": access.event.memberships.count(),
    }
    return render(request, "events/delete.html", context)

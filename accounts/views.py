from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.export import export_personal_data
from accounts.forms import ConsentForm, SelfieUploadForm, SharingDefaultForm, SignUpForm
from events.delivery import image_response
from events.models import Event
from events.rendering import render_selfie
from recognition.models import Selfie


def signup(request):
    form = SignUpForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_safe_next_url(request, next_url) or "events:home")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


def _safe_next_url(request, url: str) -> str | None:
    """Return url when it stays on this site, so that ?next= cannot redirect elsewhere."""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else None


@login_required
def enrollment(request):
    user = request.user
    context = {
        "consent_form": ConsentForm(initial={"default_sharing": user.default_sharing}),
        "sharing_form": SharingDefaultForm(initial={"default_sharing": user.default_sharing}),
        "upload_form": SelfieUploadForm(),
        "selfies": Selfie.objects.filter(user=user),
        "usable_selfies": services.usable_selfie_count(user),
        "recommended_selfies": settings.FACEGATE_RECOMMENDED_SELFIES,
        "withdraw_question": _("Delete your selfies, templates and matches now? This cannot be undone."),
        "delete_question": _("Delete this selfie?"),
    }
    return render(request, "accounts/enrollment.html", context)


@login_required
@require_POST
def give_consent(request):
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the consent box to enroll your selfies."))
        return redirect("accounts:enrollment")

    services.give_consent(request.user, form.cleaned_data["default_sharing"])
    messages.success(request, _("Thank you. You can now add your selfies."))
    return redirect("accounts:enrollment")


@login_required
@require_POST
def set_default_sharing(request):
    form = SharingDefaultForm(request.POST)
    if form.is_valid():
        services.set_default_sharing(request.user, form.cleaned_data["default_sharing"])
        messages.success(request, _("Your default sharing choice is saved."))
    return redirect("accounts:enrollment")


@login_required
@require_POST
def upload_selfies(request):
    if not request.user.has_biometric_consent:
        messages.error(request, _("Give your consent to biometric processing before adding selfies."))
        return redirect("accounts:enrollment")

    form = SelfieUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("files", [_("Choose at least one selfie to upload.")]):
            messages.error(request, error)
        return redirect("accounts:enrollment")

    selfies, problems = services.add_selfies(request.user, form.cleaned_data["files"])
    for problem in problems:
        messages.error(request, problem.message)
    if selfies:
        received = ngettext(
            "%(count)d selfie received; it is being processed.",
            "%(count)d selfies received; they are being processed.",
            len(selfies),
        )
        messages.success(request, received % {"count": len(selfies)})
    return redirect("accounts:enrollment")


@login_required
@require_POST
def withdraw_consent(request):
    services.withdraw_consent(request.user)
    messages.success(request, _("Your consent is withdrawn. Your selfies, templates and matches are deleted."))
    return redirect("accounts:enrollment")


@login_required
@require_POST
def delete_selfie(request, selfie_id):
    selfie = get_object_or_404(Selfie, id=selfie_id, user=request.user)
    services.delete_selfie(selfie)
    messages.success(request, _("The selfie %(name)s is deleted.") % {"name": selfie.original_name})
    return redirect("accounts:enrollment")


@login_required
def selfie_image(request, selfie_id):
    selfie = get_object_or_404(Selfie, id=selfie_id, user=request.user)
    # Rendered on each request and never stored, so that no derived copy of
    # a selfie outlives its deletion or the withdrawal of consent.
    try:
        data = render_selfie(selfie)
    except ValueError:
        raise Http404 from None
    return image_response(data)


@login_required
@require_http_methods(["GET", "POST"])
def download_data(request):
    # Only ever the requester's own data: the view takes no id.
    archive = export_personal_data(request.user)
    response = FileResponse(
        archive, as_attachment=True, filename="facegate-my-data.zip", content_type="application/zip"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def delete_account(request):
    if request.method == "POST":
        services.delete_account(request.user)
        logout(request)
        messages.success(request, _("Your account, your selfies and the matches of your face are deleted."))
        return redirect("login")

    # No photo counts: the total would include photos the rule withholds from this user.
    created_events = Event.objects.filter(created_by=request.user)
    return render(request, "accounts/delete_account.html", {"created_events": created_events})

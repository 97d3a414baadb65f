"""Selfie checks through the real pipeline: blurred, turned and small faces are rejected by name."""

import io
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from accounts.models import Sharing
from events.models import JobStatus
from recognition.enrollment import MIN_FACE_WIDTH
from tests.conftest import faces_dir, upload_of

# The face in this enrol photo is 281 pixels wide.
SMALL_FACE_SOURCE = "identities/barack_obama/fr_obama2.jpg"
# Shrunk to 15 %, the face is about 42 pixels wide.
SMALL_FACE_SCALE = 0.15
# Her face spans x = 390 to 977 in angelina_jolie/df_img7.jpg: a crop from here cuts it in half.
CUT_SELFIE_LEFT = 683
USABLE_SELFIES = ["identities/angelina_jolie/df_img1.jpg", "identities/angelina_jolie/df_img2.jpg"]


def _enroll(user, jobs, uploads: list[SimpleUploadedFile]) -> list:
    account_services.give_consent(user, Sharing.SHARE)
    selfies, problems = account_services.add_selfies(user, uploads)
    assert problems == []
    jobs.run_all()

    for selfie in selfies:
        selfie.refresh_from_db()
    return selfies


def _jpeg_upload(image: Image.Image, name: str) -> SimpleUploadedFile:
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=95)
    return SimpleUploadedFile(name, output.getvalue())


@pytest.mark.django_db(transaction=True)
def test_blurred_selfie_rejected(attendee, jobs):
    [selfie] = _enroll(attendee, jobs, [upload_of("hard/isf_bulk_blur.jpg")])

    assert selfie.status == JobStatus.FAILED
    assert "The face in isf_bulk_blur.jpg is too blurred" in selfie.error
    assert "Hold the camera still" in selfie.error
    assert selfie.embedding is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("relative_path", ["hard/isf_pose_left_face.jpeg", "hard/isf_pose_right_face.png"])
def test_profile_selfie_rejected_as_turned(attendee, jobs, relative_path):
    [selfie] = _enroll(attendee, jobs, [upload_of(relative_path)])

    assert selfie.status == JobStatus.FAILED
    assert f"The face in {relative_path.split('/')[1]} is turned too far to the side" in selfie.error
    assert "Look straight at the camera" in selfie.error


@pytest.mark.django_db(transaction=True)
def test_turned_check_ignores_roll(attendee, jobs):
    # The profile lying on its side is found in a quarter turn, and its yaw
    # is measured along the eye line, so it is still rejected as turned.
    profile = Image.open(faces_dir() / "hard/isf_pose_left_face.jpeg").convert("RGB")
    lying = profile.transpose(Image.Transpose.ROTATE_90)

    [selfie] = _enroll(attendee, jobs, [_jpeg_upload(lying, "lying.jpg")])

    assert selfie.status == JobStatus.FAILED
    assert "The face in lying.jpg is turned too far to the side" in selfie.error


@pytest.mark.django_db(transaction=True)
def test_small_face_rejected(attendee, jobs):
    photo = Image.open(faces_dir() / SMALL_FACE_SOURCE).convert("RGB")
    small = photo.resize((round(photo.width * SMALL_FACE_SCALE), round(photo.height * SMALL_FACE_SCALE)))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(small, (260, 120))

    [selfie] = _enroll(attendee, jobs, [_jpeg_upload(canvas, "far-away.jpg")])

    assert selfie.status == JobStatus.FAILED
    assert "The face in far-away.jpg is" in selfie.error
    assert f"smaller than the minimum of {MIN_FACE_WIDTH}" in selfie.error
    assert "Move closer to the camera" in selfie.error


@pytest.mark.django_db(transaction=True)
def test_cut_selfie_with_bystander_rejected(attendee, jobs):
    # Her face is cut in half by the left edge, and a smaller face of someone
    # else sits beside it: the bystander must not become the enrolled face.
    me = Image.open(faces_dir() / "identities/angelina_jolie/df_img7.jpg").convert("RGB")
    cut = me.crop((CUT_SELFIE_LEFT, 0, me.width, me.height))
    bystander = Image.open(faces_dir() / "identities/george_clooney/df_img39.jpg").convert("RGB")
    cut.paste(bystander.resize((bystander.width // 8, bystander.height // 8)), (cut.width - 400, 1500))

    [selfie] = _enroll(attendee, jobs, [_jpeg_upload(cut, "cut.jpg")])

    assert selfie.status == JobStatus.FAILED
    assert "The face in cut.jpg is cut off by the edge of the photo" in selfie.error
    assert selfie.embedding is None


@pytest.mark.django_db(transaction=True)
def test_same_photo_full_size_accepted(attendee, jobs):
    # The counterpart of the small-face case: the photo it was made from passes.
    [selfie] = _enroll(attendee, jobs, [upload_of(SMALL_FACE_SOURCE)])

    assert selfie.status == JobStatus.DONE, selfie.error
    assert selfie.embedding.shape == (512,)


@pytest.mark.django_db(transaction=True)
def test_usable_count_on_page(client, attendee, jobs, settings):
    settings.FACEGATE_RECOMMENDED_SELFIES = 3
    uploads = [upload_of(path) for path in USABLE_SELFIES] + [upload_of("hard/isf_bulk_blur.jpg")]
    selfies = _enroll(attendee, jobs, uploads)
    assert [selfie.status for selfie in selfies] == [JobStatus.DONE, JobStatus.DONE, JobStatus.FAILED]
    client.force_login(attendee)

    response = client.get(reverse("accounts:enrollment"))

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert account_services.usable_selfie_count(attendee) == 2
    assert "You have 2 usable selfies." in page
    assert "Add more until you have at least 3" in page
    assert "isf_bulk_blur.jpg is too blurred" in page


@pytest.mark.django_db(transaction=True)
def test_usable_count_in_french(client, attendee, jobs, settings):
    settings.FACEGATE_RECOMMENDED_SELFIES = 3
    _enroll(attendee, jobs, [upload_of(USABLE_SELFIES[0])])
    client.force_login(attendee)

    page = client.get(reverse("accounts:enrollment"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "Vous avez 1 selfie utilisable." in page
    assert "au moins 3" in page


@pytest.mark.django_db(transaction=True)
def test_enough_selfies_not_asked_for_more(client, attendee, jobs, settings):
    settings.FACEGATE_RECOMMENDED_SELFIES = 2
    _enroll(attendee, jobs, [upload_of(path) for path in USABLE_SELFIES])
    client.force_login(attendee)

    page = client.get(reverse("accounts:enrollment")).content.decode()

    assert "You have 2 usable selfies." in page
    assert "Add more until you have at least" not in page

"""Bad and unusual files: each is processed or rejected with a message that names it."""

import io
import zipfile
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from events import services as event_services
from events.models import JobStatus, Photo
from recognition.imaging import ImageError, load_image
from recognition.models import Face
from tests.conftest import faces_dir, manifest, upload_of

ODD_FILES = [row for row in manifest() if row.split in ("noface", "variant")]


def _upload_and_process(event, organizer, jobs, upload) -> tuple[Photo | None, str | None]:
    result = event_services.upload_photos(event, organizer, [upload])
    jobs.run_all()
    if result.problems:
        return None, result.problems[0].message
    photo = result.photos[0]
    photo.refresh_from_db()
    return photo, photo.error


def _real_image(relative_path: str) -> Image.Image:
    return Image.open(faces_dir() / relative_path)


def _encode(image: Image.Image, format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, format=format, **options)
    return output.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("row", ODD_FILES, ids=lambda row: row.relative_path)
def test_shared_odd_file_processed_or_named(event, organizer, jobs, row):
    photo, message = _upload_and_process(event, organizer, jobs, upload_of(row.relative_path))

    if photo is not None and photo.status == JobStatus.DONE:
        assert message == ""
    else:
        assert row.name in message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "relative_path",
    [f"variants/pil_hopper_orientation_{number}.jpg" for number in range(2, 9)]
    + [
        "variants/pil_hopper.heic",
        "variants/pil_hopper.gif",
        "variants/pil_hopper_gray.jpg",
        "variants/isf_bulk_image_T1.jpeg",
    ],
)
def test_face_found_in_exif_rotated_and_odd_formats(event, organizer, jobs, relative_path):
    photo, message = _upload_and_process(event, organizer, jobs, upload_of(relative_path))

    assert photo.status == JobStatus.DONE, message
    assert Face.objects.filter(photo=photo).count() >= 1


@pytest.mark.django_db(transaction=True)
def test_truncated_jpeg_fails_with_name(event, organizer, jobs):
    data = (faces_dir() / "identities/barack_obama/fr_obama1.jpg").read_bytes()
    upload = SimpleUploadedFile("cut-short.jpg", data[: len(data) // 2])

    photo, message = _upload_and_process(event, organizer, jobs, upload)

    assert photo.status == JobStatus.FAILED
    assert "cut-short.jpg" in message
    assert "truncated or damaged" in message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "LA", "P", "I;16"])
def test_any_color_mode_processed(event, organizer, jobs, mode):
    image = _real_image("identities/barack_obama/fr_obama1.jpg").convert("RGB")
    if mode == "I;16":
        converted = Image.fromarray(__import__("numpy").asarray(image.convert("L")).astype("uint16") * 257)
        data = _encode(converted, "PNG")
    elif mode == "CMYK":
        data = _encode(image.convert("CMYK"), "JPEG")
    else:
        data = _encode(image.convert(mode), "PNG")

    photo, message = _upload_and_process(event, organizer, jobs, SimpleUploadedFile(f"obama-{mode}.png", data))

    assert photo.status == JobStatus.DONE, message
    assert Face.objects.filter(photo=photo).count() == 1


@pytest.mark.django_db(transaction=True)
def test_non_image_rejected_at_upload(event, organizer, jobs):
    upload = SimpleUploadedFile("notes.jpg", b"Guest list: Ada, Grace, Linus\n")

    photo, message = _upload_and_process(event, organizer, jobs, upload)

    assert photo is None
    assert "notes.jpg is not an image" in message
    assert Photo.objects.filter(event=event).count() == 0


@pytest.mark.django_db(transaction=True)
def test_zip_rejected_with_name(event, organizer, jobs):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(faces_dir() / "identities/barack_obama/fr_obama1.jpg", "fr_obama1.jpg")
    upload = SimpleUploadedFile("gallery.zip", archive.getvalue())

    photo, message = _upload_and_process(event, organizer, jobs, upload)

    assert photo is None
    assert "gallery.zip" in message


@pytest.mark.django_db(transaction=True)
def test_too_many_pixels_rejected(event, organizer, jobs, settings):
    settings.FACEGATE_MAX_IMAGE_PIXELS = 500_000
    upload = upload_of("group/df_couple.jpg")

    photo, message = _upload_and_process(event, organizer, jobs, upload)

    assert photo is None
    assert "df_couple.jpg is 2280×1588 pixels" in message


@pytest.mark.django_db(transaction=True)
def test_too_large_file_rejected(event, organizer, jobs, settings):
    settings.FACEGATE_MAX_UPLOAD_BYTES = 100_000

    photo, message = _upload_and_process(event, organizer, jobs, upload_of("group/df_couple.jpg"))

    assert photo is None
    assert "df_couple.jpg is" in message
    assert "more than the limit of 0 MB" not in message


@pytest.mark.django_db(transaction=True)
def test_duplicate_upload_named_and_kept_once(event, organizer, jobs):
    first, _ = _upload_and_process(event, organizer, jobs, upload_of("group/df_couple.jpg"))
    second, message = _upload_and_process(event, organizer, jobs, upload_of("group/df_couple.jpg", "copy.jpg"))

    assert first.status == JobStatus.DONE
    assert second is None
    assert "copy.jpg is already in this event" in message
    assert Photo.objects.filter(event=event).count() == 1


@pytest.mark.django_db(transaction=True)
def test_upload_page_lists_each_problem(event, organizer, client, jobs):
    client.force_login(organizer)
    files = [SimpleUploadedFile("notes.txt", b"not a photo"), upload_of("group/fr_two_people.jpg")]

    response = client.post(reverse("events:upload", args=[event.id]), {"files": files}, follow=True)

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "notes.txt is not an image" in page
    assert "fr_two_people.jpg" in page
    assert jobs.names() == ["recognition.process_photo"]


def test_load_image_names_file_for_text():
    with pytest.raises(ImageError, match="readme.png is not an image"):
        load_image(b"plain text", name="readme.png", max_pixels=10**7)


def test_load_image_flattens_alpha_on_white():
    image = Image.open(faces_dir() / "variants/isf_crop_crop.png")
    assert image.mode == "RGBA"

    loaded = load_image((faces_dir() / "variants/isf_crop_crop.png").read_bytes(), name="crop.png", max_pixels=10**7)

    assert loaded.mode == "RGB"
    assert loaded.size == image.size

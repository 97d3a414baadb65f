"""Stored renditions, metadata stripping, blur strength and media delivery.

One event that shows unidentified faces, so that only a person's choice
restricts them. Barack Obama's attendee enrolled two selfies and chose blur
for the event. The organizer uploaded a portrait of him, written again with
GPS EXIF, an XMP packet, a JPEG comment and a wide-gamut ICC profile.
"""

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.db.models.fields.files import FieldFile
from django.test import Client, RequestFactory
from django.urls import reverse
from PIL import ExifTags, Image, ImageCms

from accounts import services as account_services
from accounts.models import Sharing, User
from events import delivery, rendering
from events import services as event_services
from events.models import Event, Membership, Photo, RenditionFile
from events.visibility import Rendition
from recognition import services as recognition_services
from recognition.models import Selfie
from recognition.schemas import Box
from tests.conftest import JobRecorder, faces_dir, make_user, upload_of

PORTRAIT = "identities/barack_obama/fr_obama1.jpg"
SELFIES = ["identities/barack_obama/fr_obama.jpg", "identities/barack_obama/fr_obama2.jpg"]
# Names that must never reach a client.
PORTRAIT_UPLOAD_NAME = "IMG_4242-villa-party.jpg"
SELFIE_UPLOAD_NAME = "my-passport-photo.jpg"
JPEG_COMMENT = b"Shot at 12 Rue de la Paix"
ICC_DESCRIPTION = "Facegate wide"
# Adobe RGB (1998) primaries adapted to D50, the colorants of its ICC profile.
WIDE_GAMUT_COLORANTS = {
    b"rXYZ": (0.60974, 0.31111, 0.01947),
    b"gXYZ": (0.20528, 0.62567, 0.06087),
    b"bXYZ": (0.14919, 0.06322, 0.74457),
}
XMP_PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Facegate test camera"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
GPS_GPSINFO_TAG = 0x8825
METADATA_MARKERS = [
    b"Exif",
    b"http://ns.adobe.com/xap",
    b"ICC_PROFILE",
    JPEG_COMMENT,
    ICC_DESCRIPTION.encode("utf-16-be"),
]


def wide_gamut_profile() -> bytes:
    """Return an RGB ICC profile with Adobe RGB primaries, made by editing lcms's built-in sRGB profile."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[84:100] = bytes(16)  # The profile ID (MD5); zero means "not computed".
    tag_count = int.from_bytes(data[128:132], "big")
    for index in range(tag_count):
        entry = 132 + 12 * index
        signature = bytes(data[entry : entry + 4])
        offset = int.from_bytes(data[entry + 4 : entry + 8], "big")
        if signature in WIDE_GAMUT_COLORANTS:
            values = [round(value * 65536).to_bytes(4, "big", signed=True) for value in WIDE_GAMUT_COLORANTS[signature]]
            data[offset + 8 : offset + 20] = b"".join(values)

    old_description = "sRGB built-in".encode("utf-16-be")
    assert len(ICC_DESCRIPTION) == len("sRGB built-in")
    return bytes(data).replace(old_description, ICC_DESCRIPTION.encode("utf-16-be"))


def with_metadata(relative_path: str, name: str, *, icc: bool = True) -> SimpleUploadedFile:
    """Return a real face photo written again with GPS EXIF, XMP, a comment and a wide-gamut ICC profile (icc=True)."""
    extra = {"icc_profile": wide_gamut_profile()} if icc else {}
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Facegate test camera"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 52.0, 9.0), 3: "E", 4: (2.0, 19.0, 51.0)}
    output = io.BytesIO()
    with Image.open(faces_dir() / relative_path) as image:
        image.convert("RGB").save(
            output,
            format="JPEG",
            quality=92,
            exif=exif,
            xmp=XMP_PACKET,
            comment=JPEG_COMMENT,
            **extra,
        )
    return SimpleUploadedFile(name, output.getvalue())


@dataclass
class Scene:
    event: Event
    organizer: User
    obama: User
    photo: Photo

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture(scope="module")
def scene(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        recorder = JobRecorder()
        patch.setattr("recognition.queue.send", recorder)

        organizer = make_user("rend-organizer")
        event = event_services.create_event(organizer, "Renditions", "show")
        obama = make_user("rend-obama")
        account_services.give_consent(obama, Sharing.BLUR)
        event_services.join_event(obama, event.invite_code)
        # Without a profile, no colour conversion hides metadata that is left in place.
        uploads = [with_metadata(SELFIES[0], SELFIE_UPLOAD_NAME, icc=False), upload_of(SELFIES[1])]
        account_services.add_selfies(obama, uploads)
        recorder.run_all()

        result = event_services.upload_photos(event, organizer, [with_metadata(PORTRAIT, PORTRAIT_UPLOAD_NAME)])
        recorder.run_all()
        photo = result.photos[0]
        photo.refresh_from_db()

        yield Scene(event, organizer, obama, photo)

        Event.objects.filter(id=event.id).delete()
        User.objects.filter(username__startswith="rend-").delete()


def image_urls(photo: Photo) -> dict[str, str]:
    return {
        "thumb": reverse("events:photo_image", args=[photo.id, "thumb"]),
        "large": reverse("events:photo_image", args=[photo.id, "large"]),
        "original": reverse("events:photo_image", args=[photo.id, "original"]),
        "download": reverse("events:photo_download", args=[photo.id]),
    }


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def jpeg_header(data: bytes) -> bytes:
    """Return the bytes before the first scan (SOS marker), where every metadata segment sits."""
    return data[: data.index(b"\xff\xda")]


def segment_markers(data: bytes) -> list[int]:
    """Return the markers of the JPEG segments before the first scan."""
    markers, position = [], 2
    while data[position + 1] != 0xDA:
        markers.append(data[position + 1])
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return markers


def assert_no_metadata(data: bytes, label: str) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG", label
    for key in ("exif", "xmp", "icc_profile", "comment"):
        assert key not in image.info, (label, key)
    assert len(image.getexif()) == 0, label
    for marker in METADATA_MARKERS:
        assert marker not in data, (label, marker)
    assert b"GPS" not in jpeg_header(data), label
    # APP0 (JFIF) is the only application segment left; APP1 to APP15 and COM are gone.
    extra = [marker for marker in segment_markers(data) if 0xE1 <= marker <= 0xEF or marker == 0xFE]
    assert extra == [], label


def selfie_embeddings(user: User) -> np.ndarray:
    selfies = Selfie.objects.filter(user=user, embedding__isnull=False)
    return np.array([vector for selfie in selfies for vector in (selfie.embedding, selfie.flipped_embedding)])


def nearest_match(data: bytes, enrolled: np.ndarray) -> float:
    """Return the distance from the enrolled embeddings to the closest face the product finds; 2.0 without a face."""
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    distances = [
        float(np.min(np.linalg.norm(enrolled - item.embedding, axis=1)))
        for item in recognition_services.pipeline().analyze(pixels)
    ]
    return min(distances, default=2.0)


def set_choice(scene: Scene, sharing: str) -> None:
    membership = Membership.objects.get(event=scene.event, user=scene.obama)
    event_services.set_event_sharing(membership, sharing)


@pytest.mark.django_db
def test_upload_carries_metadata(scene):
    with scene.photo.file.open("rb") as stream:
        data = stream.read()
    image = Image.open(io.BytesIO(data))

    assert image.getexif().get_ifd(GPS_GPSINFO_TAG)[1] == "N"
    assert "xmp" in image.info
    assert "icc_profile" in image.info
    for marker in METADATA_MARKERS:
        assert marker in data, marker


@pytest.mark.django_db
@pytest.mark.parametrize("viewer", ["organizer", "obama"])
def test_served_photos_carry_no_metadata(scene, viewer):
    client = scene.client_for(getattr(scene, viewer))

    for route, url in image_urls(scene.photo).items():
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, route
        assert_no_metadata(body(response), route)


@pytest.mark.django_db
def test_served_selfie_carries_no_metadata(scene):
    selfie = Selfie.objects.get(user=scene.obama, original_name=SELFIE_UPLOAD_NAME)
    with selfie.file.open("rb") as stream:
        uploaded = stream.read()
    assert JPEG_COMMENT in uploaded
    assert b"http://ns.adobe.com/xap" in uploaded
    assert Image.open(io.BytesIO(uploaded)).getexif().get_ifd(GPS_GPSINFO_TAG)[1] == "N"

    response = scene.client_for(scene.obama).get(reverse("accounts:selfie_image", args=[selfie.id]))

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert_no_metadata(body(response), "selfie")


def test_wide_gamut_converted_to_srgb():
    wide = Image.new("RGB", (8, 8), (100, 150, 200))
    wide.info["icc_profile"] = wide_gamut_profile()
    tagged_srgb = Image.new("RGB", (8, 8), (100, 150, 200))
    tagged_srgb.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    converted = rendering.to_srgb(wide, "photos/wide.jpg").getpixel((0, 0))
    unchanged = rendering.to_srgb(tagged_srgb, "photos/srgb.jpg").getpixel((0, 0))

    # In the wider Adobe RGB gamut these numbers are a more saturated blue, which needs less red in sRGB.
    assert converted[0] < 100 - 20
    assert unchanged == (100, 150, 200)


def test_unreadable_icc_profile_kept_as_is():
    image = Image.new("RGB", (8, 8), (100, 150, 200))
    image.info["icc_profile"] = b"not a profile"

    assert rendering.to_srgb(image, "photos/broken.jpg").getpixel((0, 0)) == (100, 150, 200)


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    return float(np.mean(np.abs(np.asarray(first, dtype=np.float32) - np.asarray(second, dtype=np.float32))))


@pytest.mark.django_db
def test_served_colours_converted_to_srgb(scene):
    with scene.photo.file.open("rb") as stream:
        uploaded = Image.open(io.BytesIO(stream.read()))
        uploaded.load()
    wide = ImageCms.ImageCmsProfile(io.BytesIO(uploaded.info["icc_profile"]))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    expected = ImageCms.profileToProfile(uploaded.convert("RGB"), wide, srgb, outputMode="RGB")

    # The person in the photo gets it without blur, so every pixel can be compared.
    response = scene.client_for(scene.obama).get(image_urls(scene.photo)["original"])
    served = Image.open(io.BytesIO(body(response))).convert("RGB")

    assert mean_difference(served, expected) < 2.0
    assert mean_difference(served, uploaded.convert("RGB")) > 4.0


@pytest.mark.django_db
def test_blurred_face_not_matchable(scene):
    enrolled = selfie_embeddings(scene.obama)
    others = scene.client_for(scene.organizer)
    own = scene.client_for(scene.obama)

    for route, url in image_urls(scene.photo).items():
        blurred = nearest_match(body(others.get(url)), enrolled)
        intact = nearest_match(body(own.get(url)), enrolled)
        assert blurred > settings.FACEGATE_UNCERTAIN_THRESHOLD, route
        assert intact < settings.FACEGATE_MATCH_THRESHOLD, route


@pytest.mark.django_db
def test_choice_change_serves_new_rendition(scene):
    enrolled = selfie_embeddings(scene.obama)
    client = scene.client_for(scene.organizer)
    url = image_urls(scene.photo)["large"]

    set_choice(scene, Sharing.SHARE)
    shared = body(client.get(url))
    shared_keys = _large_rendition_keys(scene.photo)
    set_choice(scene, Sharing.BLUR)
    blurred = body(client.get(url))
    blurred_keys = _large_rendition_keys(scene.photo)

    assert shared != blurred
    assert nearest_match(shared, enrolled) < settings.FACEGATE_MATCH_THRESHOLD
    assert nearest_match(blurred, enrolled) > settings.FACEGATE_UNCERTAIN_THRESHOLD
    # The change deleted the unblurred copy; the blurred one has a key of its own.
    assert len(shared_keys) == len(blurred_keys) == 1
    assert shared_keys.isdisjoint(blurred_keys)


def _large_rendition_keys(photo) -> set[str]:
    return set(RenditionFile.objects.filter(photo=photo, size="large").values_list("blur_key", flat=True))


@pytest.mark.django_db
def test_rendition_stored_once(scene, monkeypatch):
    decoded = []
    load_image = rendering.load_image

    def counting_load_image(*args, **kwargs):
        decoded.append(kwargs["name"])
        return load_image(*args, **kwargs)

    monkeypatch.setattr(rendering, "load_image", counting_load_image)
    client = scene.client_for(scene.organizer)
    url = image_urls(scene.photo)["thumb"]

    first = body(client.get(url))
    second = body(client.get(url))

    assert first == second
    assert decoded == [scene.photo.original_name]
    assert RenditionFile.objects.filter(photo=scene.photo, size="thumb").count() == 1


def test_blur_key_ignores_box_order():
    boxes = [Box(10, 20, 30, 40), Box(1, 2, 3, 4)]

    assert rendering.blur_key(boxes) == rendering.blur_key(list(reversed(boxes)))
    assert rendering.blur_key(boxes) != rendering.blur_key(boxes[:1])
    assert rendering.blur_key([]) != rendering.blur_key(boxes)


def rendition_names(photo: Photo) -> set[str]:
    folder = f"renditions/{photo.event_id}/{photo.id}"
    _, files = default_storage.listdir(folder) if default_storage.exists(folder) else ([], [])
    return {f"{folder}/{name}" for name in files}


@pytest.mark.django_db
def test_concurrent_store_keeps_first(scene):
    first = rendering.stored_rendition(scene.photo, Rendition(), "thumb")
    names_before = rendition_names(scene.photo)

    # A second request that rendered the same combination before the first saved it.
    second = rendering._store_rendition(scene.photo, "thumb", first.blur_key, b"a late copy")

    assert second.id == first.id
    assert rendition_names(scene.photo) == names_before
    assert first.file.name in names_before


@pytest.mark.django_db
def test_delete_renditions_removes_files(scene, django_capture_on_commit_callbacks):
    client = scene.client_for(scene.organizer)
    for url in image_urls(scene.photo).values():
        client.get(url)
    names = list(RenditionFile.objects.filter(photo=scene.photo).values_list("file", flat=True))

    # Files go when the deletion commits; the test's transaction never does.
    with django_capture_on_commit_callbacks(execute=True):
        deleted = rendering.delete_renditions([scene.photo.id])

    assert deleted == len(names) == 3  # thumb, large and original; the download reuses the original
    assert RenditionFile.objects.filter(photo=scene.photo).count() == 0
    for name in names:
        assert not default_storage.exists(name), name


@pytest.mark.django_db
def test_photo_deletion_removes_rendition_files(scene, django_capture_on_commit_callbacks):
    stored = rendering.stored_rendition(scene.photo, Rendition(), "thumb")
    assert default_storage.exists(stored.file.name)

    with django_capture_on_commit_callbacks(execute=True):
        Photo.objects.filter(id=scene.photo.id).delete()

    assert not default_storage.exists(stored.file.name)


def assert_private_image_headers(response, photo: Photo, disposition: str) -> None:
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'{disposition}; filename="facegate-{photo.id}.jpg"'
    for name, value in response.items():
        assert PORTRAIT_UPLOAD_NAME not in value, name


@pytest.mark.django_db
def test_stream_delivery_sends_jpeg(scene, settings):
    settings.FACEGATE_MEDIA_DELIVERY = "stream"

    response = scene.client_for(scene.organizer).get(image_urls(scene.photo)["thumb"])

    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    assert Image.open(io.BytesIO(body(response))).format == "JPEG"
    assert_private_image_headers(response, scene.photo, "inline")


@pytest.mark.django_db
def test_x_accel_delivery_points_inside_prefix(scene, settings):
    settings.FACEGATE_MEDIA_DELIVERY = "x-accel"
    settings.FACEGATE_MEDIA_INTERNAL_PREFIX = "/protected-media/"

    response = scene.client_for(scene.organizer).get(image_urls(scene.photo)["download"])

    assert response.status_code == HTTPStatus.OK
    assert response.content == b""
    stored = RenditionFile.objects.get(photo=scene.photo, size="original")
    assert response["X-Accel-Redirect"] == f"/protected-media/{stored.file.name}"
    assert (Path(settings.MEDIA_ROOT) / stored.file.name).is_file()
    assert_private_image_headers(response, scene.photo, "attachment")


@pytest.mark.django_db
def test_x_sendfile_delivery_gives_path(scene, settings):
    settings.FACEGATE_MEDIA_DELIVERY = "x-sendfile"

    response = scene.client_for(scene.organizer).get(image_urls(scene.photo)["large"])

    assert response.status_code == HTTPStatus.OK
    assert response.content == b""
    stored = RenditionFile.objects.get(photo=scene.photo, size="large")
    assert response["X-Sendfile"] == str(Path(settings.MEDIA_ROOT) / stored.file.name)
    assert_private_image_headers(response, scene.photo, "inline")


@pytest.mark.django_db
def test_signed_url_delivery_redirects(scene, settings, monkeypatch):
    settings.FACEGATE_MEDIA_DELIVERY = "signed-url"
    settings.FACEGATE_SIGNED_URL_SECONDS = 45
    calls = []

    # S3 cannot run here: only the storage's url() is replaced.
    def signed_url(name, parameters=None, expire=None):
        calls.append((name, parameters, expire))
        return f"https://bucket.invalid/{name}?X-Amz-Expires={expire}&X-Amz-Signature=0"

    monkeypatch.setattr(default_storage, "url", signed_url)

    response = scene.client_for(scene.organizer).get(image_urls(scene.photo)["download"])

    stored = RenditionFile.objects.get(photo=scene.photo, size="original")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"https://bucket.invalid/{stored.file.name}?X-Amz-Expires=45&X-Amz-Signature=0"
    assert response["Cache-Control"] == "private, no-store"
    assert calls == [
        (
            stored.file.name,
            {
                "ResponseContentType": "image/jpeg",
                "ResponseContentDisposition": f'attachment; filename="facegate-{scene.photo.id}.jpg"',
                "ResponseCacheControl": "private, no-store",
            },
            45,
        )
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["stream", "x-accel", "x-sendfile", "signed-url"])
def test_delivery_only_after_rule(scene, settings, monkeypatch, mode):
    settings.FACEGATE_MEDIA_DELIVERY = mode
    monkeypatch.setattr(default_storage, "url", lambda name, **kwargs: f"https://bucket.invalid/{name}")
    set_choice(scene, Sharing.HIDE)

    response = scene.client_for(scene.organizer).get(image_urls(scene.photo)["download"])

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "X-Accel-Redirect" not in response
    assert "X-Sendfile" not in response
    assert "Location" not in response


def test_public_filename_checked():
    file = FieldFile(None, RenditionFile._meta.get_field("file"), "renditions/a.jpg")

    with pytest.raises(ValueError, match="Invalid public file name"):
        delivery.stored_image_response(file, filename='x".jpg')


def settings_import(tmp_path, **variables) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh interpreter with these environment variables."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("FACEGATE_", "DJANGO_", "DATABASE"))
    }
    environment |= {"DJANGO_SECRET_KEY": "test", "FACEGATE_VAR_DIR": str(tmp_path), **variables}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FACEGATE_MEDIA_DELIVERY": "x-sendfile", "FACEGATE_STORAGE": "s3"}, "does not work with"),
        ({"FACEGATE_MEDIA_DELIVERY": "x-accel", "FACEGATE_STORAGE": "s3"}, "does not work with"),
        ({"FACEGATE_MEDIA_DELIVERY": "signed-url", "FACEGATE_STORAGE": "local"}, "does not work with"),
        ({"FACEGATE_MEDIA_DELIVERY": "nginx"}, "must be one of"),
        ({"FACEGATE_MEDIA_DELIVERY": "x-accel", "FACEGATE_MEDIA_INTERNAL_PREFIX": "protected"}, "must start and end"),
        (
            {"FACEGATE_MEDIA_DELIVERY": "signed-url", "FACEGATE_STORAGE": "s3", "FACEGATE_SIGNED_URL_SECONDS": "0"},
            "between",
        ),
    ],
)
def test_settings_reject_impossible_delivery(tmp_path, variables, message):
    variables.setdefault("FACEGATE_S3_BUCKET", "photos")

    result = settings_import(tmp_path, **variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "variables",
    [
        {"FACEGATE_MEDIA_DELIVERY": "signed-url", "FACEGATE_STORAGE": "s3", "FACEGATE_S3_BUCKET": "photos"},
        {"FACEGATE_MEDIA_DELIVERY": "x-accel", "FACEGATE_STORAGE": "local"},
        {"FACEGATE_MEDIA_DELIVERY": "x-sendfile"},
        {},
    ],
)
def test_settings_accept_possible_delivery(tmp_path, variables):
    result = settings_import(tmp_path, **variables)

    assert result.returncode == 0, result.stderr


def static_handler_serves(path: str) -> bool:
    """Return whether the handler that `manage.py serve` puts in front of the site returns a file for path."""
    try:
        status = wsgi_status(StaticFilesHandler(WSGIHandler()), path)
    except SuspiciousFileOperation:
        # The path leaves the static folders: rejected before any file is opened.
        return False
    return not status.startswith("404")


def wsgi_status(application, path: str) -> str:
    statuses = []
    environ = RequestFactory().get(path).environ
    # As django.test.Client does: the handler would otherwise close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return statuses[0]


@pytest.mark.django_db
def test_media_root_not_served(scene):
    stored = rendering.stored_rendition(scene.photo, Rendition(), "thumb")
    names = [scene.photo.file.name, stored.file.name]
    prefixes = ["/media/", "/", "/static/", "/var/media/", "/static/../media/", "/protected-media/"]
    client = scene.client_for(scene.organizer)

    for name in names:
        assert (Path(settings.MEDIA_ROOT) / name).is_file(), name
        for prefix in prefixes:
            assert client.get(prefix + name).status_code == HTTPStatus.NOT_FOUND, prefix + name
            assert not static_handler_serves(prefix + name), prefix + name

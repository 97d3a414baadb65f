"""Shared fixtures: the real face photos, three roles, and a recorder for background jobs."""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import services as account_services
from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, Membership, Photo, Role
from recognition.models import Face


@dataclass(frozen=True)
class ManifestRow:
    relative_path: str
    split: str
    identity: str
    n_faces_min: int

    @property
    def path(self) -> Path:
        return settings.FACEGATE_FACES_DIR / self.relative_path

    @property
    def name(self) -> str:
        return Path(self.relative_path).name


def faces_dir() -> Path:
    path = settings.FACEGATE_FACES_DIR
    if not (path / "manifest.csv").exists():
        raise RuntimeError(f"The face photos are missing from {path}; set FACEGATE_FACES_DIR to their folder.")
    return path


def manifest() -> list[ManifestRow]:
    with (faces_dir() / "manifest.csv").open(newline="") as stream:
        return [
            ManifestRow(row["relative_path"], row["split"], row["identity"], int(row["n_faces_min"] or 0))
            for row in csv.DictReader(stream)
        ]


def upload_of(relative_path: str, name: str | None = None) -> SimpleUploadedFile:
    path = faces_dir() / relative_path
    return SimpleUploadedFile(name or path.name, path.read_bytes())


class JobRecorder:
    """Stands in for recognition.queue.send: records jobs, and runs them on request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, ...]]] = []
        self._tasks = {}

    def __call__(self, task, *args: str) -> None:
        self.sent.append((task.name, args))
        self._tasks[task.name] = task

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def run_all(self) -> int:
        """Run recorded jobs in order, including those they send; return how many ran."""
        count = 0
        while self.sent:
            name, args = self.sent.pop(0)
            self._tasks[name].run(*args)
            count += 1
        return count


@pytest.fixture
def jobs(monkeypatch) -> JobRecorder:
    recorder = JobRecorder()
    monkeypatch.setattr("recognition.queue.send", recorder)
    return recorder


def make_user(username: str, sharing: str = Sharing.HIDE) -> User:
    return User.objects.create_user(username=username, password="correct horse battery", default_sharing=sharing)


@pytest.fixture
def organizer(db) -> User:
    return make_user("olivia")


@pytest.fixture
def attendee(db) -> User:
    return make_user("arthur", Sharing.SHARE)


@pytest.fixture
def stranger(db) -> User:
    return make_user("sam")


@pytest.fixture
def event(organizer, attendee) -> Event:
    event = event_services.create_event(organizer, "Spring gala", "hold")
    Membership.objects.create(event=event, user=attendee, role=Role.ATTENDEE)
    return event


@dataclass
class TwoPeopleEvent:
    """An event that shows unidentified faces, with Hilda, who hides, and Arthur, who shares, each in one photo."""

    event: Event
    organizer: User
    hider: User
    sharer: User
    hider_photo: Photo
    sharer_photo: Photo


def enrolled_pair(jobs: JobRecorder) -> tuple[Event, User, User, User]:
    """Create an event that shows unidentified faces, with Hilda (Obama, hides) and Arthur (Biden, shares) enrolled.

    Returns the event, its organizer, Hilda and Arthur.
    """
    organizer = make_user("olivia")
    hider = make_user("hilda")
    sharer = make_user("arthur")
    event = event_services.create_event(organizer, "Spring gala", "show")
    for person, choice, selfie in (
        (hider, Sharing.HIDE, "identities/barack_obama/fr_obama.jpg"),
        (sharer, Sharing.SHARE, "identities/joe_biden/fr_biden.jpg"),
    ):
        event_services.join_event(person, event.invite_code)
        account_services.give_consent(person, choice)
        account_services.add_selfies(person, [upload_of(selfie)])
    jobs.run_all()
    return event, organizer, hider, sharer


@pytest.fixture
def two_people_event(jobs) -> TwoPeopleEvent:
    event, organizer, hider, sharer = enrolled_pair(jobs)
    result = event_services.upload_photos(
        event,
        organizer,
        [upload_of("identities/barack_obama/fr_obama1.jpg"), upload_of("identities/joe_biden/fr_biden2.jpg")],
    )
    jobs.run_all()

    hider_photo, sharer_photo = (Photo.objects.get(id=photo.id) for photo in result.photos)
    assert hider_photo.faces.get().identity_id == hider.id
    assert sharer_photo.faces.get().identity_id == sharer.id
    return TwoPeopleEvent(event, organizer, hider, sharer, hider_photo, sharer_photo)


def make_face_row(photo: Photo, index: int, *, size: int = 80, embedding=None, **fields) -> Face:
    """Store a face without running detection: the index-th square box in a row, with a zero embedding by default."""
    return Face.objects.create(
        photo=photo,
        box_x=index * 100,
        box_y=0,
        box_width=size,
        box_height=size,
        confidence=0.99,
        embedding=np.zeros(512, dtype=np.float32) if embedding is None else embedding,
        **fields,
    )

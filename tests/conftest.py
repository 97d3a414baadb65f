"""Shared fixtures: the real face photos, three roles, and a recorder for background jobs."""

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Sharing, User
from events import services as event_services
from events.models import Event, Membership, Role


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

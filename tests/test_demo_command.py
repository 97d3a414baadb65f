"""The folder workflow the project started from: people folders plus event photos."""

import shutil

import pytest
from django.core.management import call_command

from accounts.models import User
from events.models import Event, JobStatus
from tests.conftest import faces_dir


@pytest.fixture
def folders(tmp_path):
    people = tmp_path / "people"
    for identity in ("barack_obama", "joe_biden"):
        shutil.copytree(faces_dir() / "identities" / identity, people / identity)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("fr_two_people.jpg", "df_couple.jpg"):
        shutil.copy(faces_dir() / "group" / name, photos / name)
    (photos / "notes.txt").write_text("not a photo")
    return people, photos


@pytest.mark.django_db(transaction=True)
def test_demo_builds_named_event(folders, capsys):
    people, photos = folders

    call_command("demo", "--people", str(people), "--photos", str(photos), "--name", "Inauguration")

    output = capsys.readouterr().out
    event = Event.objects.get(name="Inauguration")
    assert "fr_two_people.jpg: 2 faces; named: barack_obama, joe_biden" in output
    assert "df_couple.jpg: 2 faces; named: nobody" in output
    assert event.unknown_face_policy == "blur"
    assert set(event.photos.values_list("status", flat=True)) == {JobStatus.DONE}
    assert User.objects.get(username="joe_biden").check_password("facegate-demo")


@pytest.mark.django_db
def test_demo_rejects_missing_folder(tmp_path):
    with pytest.raises(Exception, match="is not a folder"):
        call_command("demo", "--people", str(tmp_path / "absent"), "--photos", str(tmp_path))

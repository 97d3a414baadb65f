"""The consent rule's query and erasure's lookups on SQLite, the database of `make run`.

The rest of the suite runs on PostgreSQL, so this test starts a separate
Python process with the project's default settings and an empty var folder,
migrates its SQLite database, and runs the queries there.
"""

import json
import os
import subprocess
import sys
import textwrap

from django.conf import settings

SCRIPT = textwrap.dedent(
    """
    import json
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from events.models import Event, JobStatus, Membership, Photo
    from events.visibility import event_access, visible_photo_queryset
    from recognition.erasure import faces_of_person
    from recognition.models import Face

    call_command("migrate", verbosity=0)
    viewer = User.objects.create(username="viewer", default_sharing="share")
    sharer = User.objects.create(username="sharer", default_sharing="share")
    hider = User.objects.create(username="hider", default_sharing="hide")
    outsider = User.objects.create(username="outsider", default_sharing="share")
    event = Event.objects.create(name="Gala", created_by=viewer, unknown_face_policy="show")
    for person in (viewer, sharer, hider):
        Membership.objects.create(event=event, user=person)

    cases = {
        "empty": ([], []),
        "sharer plausible": ([str(sharer.id)], []),
        "viewer and sharer": ([str(viewer.id), str(sharer.id)], []),
        "hider plausible": ([str(sharer.id), str(hider.id)], []),
        "hider linked": ([], [str(hider.id)]),
        "outsider plausible": ([str(outsider.id)], []),
        "number in list": ([7], []),
    }
    for number, (name, (plausible, linked)) in enumerate(cases.items()):
        photo = Photo.objects.create(
            event=event, uploaded_by=viewer, file=f"photos/{number}.jpg", original_name=name,
            checksum=f"{number:064d}", status=JobStatus.DONE,
        )
        Face.objects.create(
            photo=photo, box_x=0, box_y=0, box_width=60, box_height=60, confidence=0.99,
            embedding=np.zeros(512, dtype=np.float32), status="unknown",
            plausible_identities=plausible, linked_identities=linked,
        )

    client = Client()
    client.force_login(viewer)
    visible = visible_photo_queryset(event_access(viewer, event.id))
    print(json.dumps({
        "visible": sorted(visible.values_list("original_name", flat=True)),
        "hider's faces": sorted(faces_of_person(hider.id).values_list("photo__original_name", flat=True)),
        "gallery": client.get(reverse("events:gallery", args=[event.id])).status_code,
        "home": client.get(reverse("events:home")).status_code,
        "api": client.get(reverse("api:events")).status_code,
    }))
    """
)


def test_rule_query_runs_on_sqlite(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "DJANGO_", "FACEGATE_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        FACEGATE_VAR_DIR=str(tmp_path),
        DJANGO_ALLOWED_HOSTS="testserver",
        FACEGATE_LOG_LEVEL="WARNING",
    )

    result = subprocess.run(  # noqa: S603 (this interpreter, running the script above)
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (tmp_path / "db.sqlite3").exists()
    assert report["visible"] == ["empty", "sharer plausible", "viewer and sharer"]
    assert report["hider's faces"] == ["hider linked", "hider plausible"]
    assert report["gallery"] == 200
    assert report["home"] == 200
    assert report["api"] == 200

"""Measure the gallery, the API and the home page on events of thousands of photos.

Usage: .venv/bin/python bench/gallery_scale.py [--database-url URL] [--sizes 1000 10000 30000]

Creates the database if it is missing (PostgreSQL, as in production) and
fills one event per size with photos and faces in bulk. No image is decoded,
because the pages only read rows. Each page is timed in process with
Django's test client, after one warm-up request. Prints the number of
queries and the median time of five requests. The events are deleted at the
end.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBERS = 40
FACES_PER_PHOTO = 3
# Shares of members by choice, and of faces left unidentified.
CHOICE_WEIGHTS = {"share": 0.7, "blur": 0.2, "hide": 0.1}
UNIDENTIFIED_SHARE = 0.4
REPEATS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/facegate_bench")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plan of each page's queries")
    args = parser.parse_args()

    _create_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FACEGATE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)

    print("| photos | page | queries | median ms |")
    print("|---|---|---|---|")
    for size in args.sizes:
        for page, queries, milliseconds in _measure(size, args.explain):
            print(f"| {size:,} | {page} | {queries} | {milliseconds:.0f} |")


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _measure(size: int, explain: bool):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    event, viewer = _fill_event(size)
    client = Client()
    client.force_login(viewer)
    middle = max(1, size // 2 // 60)
    pages = {
        "gallery, page 1": reverse("events:gallery", args=[event.id]),
        f"gallery, page {middle}": reverse("events:gallery", args=[event.id]) + f"?page={middle}",
        "photos of me": reverse("events:photos_of_me", args=[event.id]),
        "API, page 1": reverse("api:event_photos", args=[event.id]),
        "home (count and cover)": reverse("events:home"),
    }
    try:
        for label, url in pages.items():
            assert client.get(url).status_code == 200
            timings = []
            for _ in range(REPEATS):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
            if explain:
                _explain(queries)
            yield label, len(queries), statistics.median(timings)
    finally:
        event.delete()


def _explain(queries) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if query["sql"].startswith("SELECT") and "events_photo" in query["sql"]:
                cursor.execute("EXPLAIN ANALYZE " + query["sql"])
                print(query["sql"][:300], file=sys.stderr)
                print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)


def _fill_event(size: int):
    import numpy as np
    from django.db import connection

    from accounts.models import User
    from events.models import Event, JobStatus, Membership, Photo, Role
    from recognition.models import Face

    rng = random.Random(size)
    tag = uuid.uuid4().hex[:8]
    people = User.objects.bulk_create(User(username=f"bench-{tag}-{index}") for index in range(MEMBERS))
    event = Event.objects.create(name=f"Bench {size}", created_by=people[0], unknown_face_policy="blur")
    choices = rng.choices(list(CHOICE_WEIGHTS), weights=list(CHOICE_WEIGHTS.values()), k=MEMBERS)
    Membership.objects.bulk_create(
        Membership(event=event, user=person, role=Role.ORGANIZER if index == 0 else Role.ATTENDEE, sharing=choice)
        for index, (person, choice) in enumerate(zip(people, choices, strict=True))
    )

    embedding = np.zeros(512, dtype=np.float32)
    photos = Photo.objects.bulk_create(
        (
            Photo(
                event=event,
                uploaded_by=people[0],
                file=f"photos/{event.id}/{number}.jpg",
                original_name=f"{number}.jpg",
                checksum=f"{tag}{number:056d}",
                status=JobStatus.DONE,
            )
            for number in range(size)
        ),
        batch_size=2000,
    )
    faces = []
    for photo in photos:
        for index in range(FACES_PER_PHOTO):
            person = None if rng.random() < UNIDENTIFIED_SHARE else rng.choice(people)
            faces.append(
                Face(
                    photo=photo,
                    box_x=index * 200,
                    box_y=100,
                    box_width=120,
                    box_height=120,
                    confidence=0.99,
                    embedding=embedding,
                    status="matched" if person else "unknown",
                    identity=person,
                    plausible_identities=[str(person.id)] if person else [],
                )
            )
    Face.objects.bulk_create(faces, batch_size=5000)
    # Autovacuum would gather statistics after such an insert; do it now.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_photo, recognition_face, events_membership")
    # The viewer is a member who shares, so that "photos of me" has photos.
    viewer = next(person for person, choice in zip(people, choices, strict=True) if choice == "share")
    return event, viewer


if __name__ == "__main__":
    main()

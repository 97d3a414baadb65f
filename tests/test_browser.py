"""The whole flow in Debian's Chromium, driven by Playwright, against a live server.

Photos and selfies are processed by the embedded background thread, as when
the site runs with its defaults.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import faces_dir

# Playwright's sync API runs an event loop in this thread; the ORM calls that
# pytest-django makes around the test are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PROCESSING_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def sign_up(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", "a quiet evening by the lake")
    page.fill("#id_password2", "a quiet evening by the lake")
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name="My events")).to_be_visible()


def wait_until_processed(page: Page, row_selector: str, count: int) -> None:
    """Reload until count rows show "Done"; the pages refresh themselves every 3 s too."""
    expect(page.locator(f"{row_selector}.status-done")).to_have_count(count, timeout=PROCESSING_TIMEOUT_MS)


@pytest.mark.django_db(transaction=True)
def test_sign_up_enroll_upload_and_see_gallery(browser, live_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    organizer = browser.new_context().new_page()
    attendee = browser.new_context().new_page()

    # The organizer creates an event and copies its invite link.
    sign_up(organizer, base, "olivia")
    organizer.click("text=Create an event")
    organizer.fill("#id_name", "Spring gala")
    organizer.click("main button[type=submit]")
    organizer.click("text=Invite")
    invite_link = organizer.locator("input[readonly]").input_value()
    assert re.match(rf"{re.escape(base)}/join/[\w-]+/$", invite_link)

    # The attendee joins, consents and enrolls two selfies.
    sign_up(attendee, base, "angelina")
    attendee.goto(invite_link)
    attendee.click("text=Join this event")
    attendee.click("text=My selfies and consent")
    attendee.check("#id_consent")
    attendee.select_option("#id_default_sharing", "share")
    attendee.click("text=Give consent")
    attendee.set_input_files(
        "#id_files",
        [str(faces_dir() / "identities/angelina_jolie" / name) for name in ("df_img1.jpg", "df_img2.jpg")],
    )
    attendee.click("text=Upload selfies")
    wait_until_processed(attendee, ".selfies li", 2)
    attendee.screenshot(path=str(SCREENSHOTS / "enrollment.png"), full_page=True)

    # The organizer uploads two photos of her and one of a stranger.
    organizer.click("text=Upload photos")
    organizer.set_input_files(
        "#id_files",
        [
            str(faces_dir() / "identities/angelina_jolie/df_img10.jpg"),
            str(faces_dir() / "identities/angelina_jolie/df_img7.jpg"),
            str(faces_dir() / "distractors/fnp_paul_rudd_1.jpg"),
        ],
    )
    organizer.click("button:has-text('Upload')")
    wait_until_processed(organizer, "table.uploads tr", 3)
    organizer.screenshot(path=str(SCREENSHOTS / "upload.png"), full_page=True)

    # Her two photos are shown; the stranger's waits for review under "hold".
    attendee.click("text=My events")
    attendee.click("text=Spring gala")
    expect(attendee.locator(".gallery img")).to_have_count(2)
    attendee.click("text=Photos of me")
    expect(attendee.locator(".gallery img")).to_have_count(2)
    attendee.locator(".gallery a").first.click()
    expect(attendee.locator("figure.photo img")).to_be_visible()
    attendee.screenshot(path=str(SCREENSHOTS / "photo.png"), full_page=True)

    # The organizer shares the gallery with a link; a visitor without an account opens it.
    organizer.click("text=Share links")
    organizer.fill("#id_expires_in_days", "7")
    organizer.click("text=Create a share link")
    share_link = organizer.locator("table.links input[readonly]").input_value()
    visitor = browser.new_context().new_page()
    visitor.goto(share_link)
    expect(visitor.locator(".gallery img")).to_have_count(2)
    expect(visitor.locator("body")).not_to_contain_text("angelina")
    # The thumbnails load through the link too.
    visitor.wait_for_function("Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)")
    visitor.screenshot(path=str(SCREENSHOTS / "share-link.png"), full_page=True)

    # She hides herself for this event: the organizer's gallery and the link empty.
    attendee.click("text=My sharing choice")
    attendee.select_option("#id_sharing", "hide")
    attendee.click("button:has-text('Save')")
    organizer.click("text=Gallery")
    expect(organizer.locator(".gallery img")).to_have_count(0)
    expect(organizer.locator("p.count")).to_have_text("0 photos")
    organizer.screenshot(path=str(SCREENSHOTS / "gallery-after-hide.png"), full_page=True)
    visitor.reload()
    expect(visitor.locator(".gallery img")).to_have_count(0)

    # A revoked link opens nothing.
    organizer.click("text=Share links")
    organizer.click("table.links button:has-text('Revoke')")
    expect(organizer.locator("table.links")).to_have_count(0)
    visitor.reload()
    expect(visitor.get_by_role("heading", name="Not found")).to_be_visible()

"""The admin pages in a real browser: headless Chromium (Debian's ``chromium`` package, at
/usr/bin/chromium; never a downloaded one) driven by Playwright, against the real server
on an ephemeral port, over a real :class:`ReferenceHost` and the Snov.io emulator. Each
test signs in as a user does, by opening a one-time sign-in link; the pages run under the
host's Content-Security-Policy, and a violation fails the test like a script error.

The front end is built first if ``frontend/dist`` is missing or older than its sources
(``npm ci`` and ``npm run build``). Each page's screenshot is written to
``test-artifacts/web/`` (git-ignored); with ``FORTYTWOMIN_SNOV_SCREENSHOTS=1`` it is also
copied to ``docs/screenshots/`` for the README, so a plain test run leaves the tree as it
found it.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from fortytwomin_snov.demo import DEMO_LIST_NAME, demo_environment, run_demo
from fortytwomin_snov.host import users
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.web import create_app
from fortytwomin_snov.host.web_frontend import default_frontend_root, ensure_built
from fortytwomin_snov.host.web_server import AdminServer, QueueWorker
from fortytwomin_snov.testing import Credentials, SnovEmulator, seed_demo
from fortytwomin_snov.testing.demo import DEMO_CREDENTIALS
from tests.factories import booking_event, jsonl

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parents[1]
ARTIFACTS = REPOSITORY / "test-artifacts" / "web"
SCREENSHOTS = REPOSITORY / "docs" / "screenshots"
SCREENSHOTS_ENV = "FORTYTWOMIN_SNOV_SCREENSHOTS"
"""Set to 1 to refresh the README's screenshots from this run."""
VIEWPORT = {"width": 1280, "height": 900}
COMMAND = [sys.executable, "-m", "fortytwomin_snov.host.cli"]

REJECTED = "Snov.io rejected these keys: check that you copied both the API user ID"
ACTIVE_CAMPAIGN_LIST = "Webinar follow-up"
PLAIN_LIST = "42min bookings"
LIST_SELECT = "#root_target_list_id"
OWNER = "owner@example.com"
MEMBER = "member@example.com"


# ---- the browser and the server --------------------------------------------------------


@pytest.fixture(scope="session")
def frontend_dist() -> Path:
    """The built front end, built now if missing or older than its sources."""
    return ensure_built(default_frontend_root(), echo=print)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"The browser tests need Debian's chromium at {CHROMIUM}: apt-get install -y"
            " chromium (.ci/run installs it)",
            pytrace=False,
        )
    # Playwright starts the browser with a new, empty profile of its own.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab; a script error in the page, or anything the Content-Security-Policy
    blocked, fails the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield tab
    context.close()
    assert errors == [], errors


@dataclass
class Site:
    """The admin pages of one host database, served on an ephemeral port."""

    base_url: str
    host: ReferenceHost

    def url(self, path: str) -> str:
        return self.base_url + path

    def sign_in(
        self, page: Page, email: str = OWNER, role: str = "owner", *, next_path: str | None = None
    ) -> None:
        """Sign ``page`` in as ``email`` (added with ``role`` if new) through a one-time
        link, as `fortytwomin-snov users login` prints it."""
        database = self.host.database
        if email not in {user.email for user in users.list_users(database)}:
            users.add_user(database, email, role, now=time.time())
        page.goto(
            users.issue_link(database, email, self.base_url, now=time.time(), next_path=next_path)
        )
        expect(page.get_by_test_id("user-menu")).to_contain_text(email)


@pytest.fixture
def start_site(tmp_path: Path, frontend_dist: Path) -> Iterator[Callable[..., Site]]:
    stops: list[Callable[[], None]] = []

    def start(*, host: ReferenceHost | None = None, worker: bool = False) -> Site:
        reference = host or ReferenceHost(tmp_path / "host.db")
        server = AdminServer(create_app(reference, frontend_dist))
        server.start()
        stops.append(reference.close)
        stops.append(server.stop)
        if worker:
            queue = QueueWorker(reference.path, poll_interval=0.1)
            queue.start()
            stops.append(queue.stop)
        return Site(server.base_url, reference)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def keys(snov_emulator: SnovEmulator) -> Credentials:
    return seed_demo(snov_emulator.state)


@pytest.fixture
def site(start_site: Callable[..., Site], keys: Credentials) -> Site:
    return start_site()


@pytest.fixture
def connected(site: Site, keys: Credentials) -> Site:
    site.host.connect(
        {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
        {"id": "usr_admin", "role": "admin"},
    )
    return site


def list_id(snov_emulator: SnovEmulator, keys: Credentials, name: str) -> int:
    return next(
        item.id
        for item in snov_emulator.state.lists(keys.client_id)
        if item.name == name and not item.deleted
    )


def snap(page: Page, name: str) -> None:
    """The page as a test artifact, and as the README's copy when asked for."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    artifact = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(artifact), full_page=True, animations="disabled")
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        shutil.copyfile(artifact, SCREENSHOTS / f"{name}.png")


def mapping_rows(page: Page) -> Any:
    return page.locator("#root_field_mappings .array-row")


def open_settings(page: Page, site: Site) -> None:
    site.sign_in(page, next_path="/integrations/snov")
    expect(page.locator(LIST_SELECT)).to_be_visible()


def choose_list(page: Page, name: str) -> None:
    select = page.locator(LIST_SELECT)
    label = select.locator("option", has_text=name).first.inner_text()
    select.select_option(label=label)


# ---- connect -----------------------------------------------------------------------------


def fill_keys(page: Page, user_id: str, secret: str) -> None:
    page.get_by_label("API user ID").fill(user_id)
    page.get_by_label("API secret").fill(secret)


def test_connect_with_rejected_keys_shows_the_message_and_saves_nothing(
    page: Page, site: Site, keys: Credentials
) -> None:
    site.sign_in(page)
    crm = page.get_by_role("region", name="CRM")
    expect(crm.get_by_role("article", name="Snov.io")).to_contain_text("Add invitees")
    crm.get_by_role("link", name="Connect Snov.io").click()
    expect(page.get_by_role("heading", name="Connect Snov.io")).to_be_visible()
    secret = page.get_by_label("API secret")
    expect(secret).to_have_attribute("type", "password")

    fill_keys(page, keys.client_id, "not-the-secret")
    page.get_by_role("button", name="Connect Snov.io").click()

    expect(page.get_by_test_id("connect-error")).to_contain_text(REJECTED)
    assert not site.host.status().connected
    snap(page, "connect-rejected")


def test_connect_with_good_keys_opens_the_settings(
    page: Page, site: Site, keys: Credentials
) -> None:
    site.sign_in(page, next_path="/integrations/snov/connect")
    expect(page).to_have_url(site.url("/integrations/snov/connect"))
    expect(page.get_by_label("Act as")).to_have_count(0)
    fill_keys(page, keys.client_id, keys.client_secret)
    page.get_by_role("button", name="Connect Snov.io").click()

    expect(page).to_have_url(site.url("/integrations/snov"))
    expect(page.get_by_test_id("settings-message")).to_contain_text("Connected Snov.io")
    expect(page.get_by_test_id("connection-state")).to_have_text("Connected")
    status = site.host.status()
    assert status.connected
    assert status.connection is not None
    assert status.connection["connected_by"] == OWNER
    assert keys.client_secret not in page.content()

    page.goto(site.url("/integrations"))
    card = page.get_by_role("article", name="Snov.io")
    expect(card).to_contain_text("Connected")
    expect(card.get_by_role("link", name="Settings")).to_be_visible()
    expect(card.get_by_role("link", name="Log")).to_be_visible()


def test_a_member_sees_no_connect_form(
    page: Page, site: Site, keys: Credentials, snov_emulator: SnovEmulator
) -> None:
    site.sign_in(page, MEMBER, "member")
    card = page.get_by_role("article", name="Snov.io")
    expect(card).to_contain_text("an owner or admin can connect it")
    expect(card.get_by_role("link", name="Connect Snov.io")).to_have_count(0)

    page.goto(site.url("/integrations/snov/connect"))
    note = page.get_by_test_id("connect-not-allowed")
    expect(note).to_contain_text("Only organization owners and admins can connect Snov.io")
    expect(note).to_contain_text("signed in as a member")
    expect(page.get_by_label("API secret")).to_have_count(0)
    expect(page.get_by_role("button", name="Connect Snov.io")).to_have_count(0)
    assert not site.host.status().connected
    assert snov_emulator.state.requests() == []


# ---- settings ----------------------------------------------------------------------------


def test_the_list_picker_offers_the_accounts_lists_and_warns_about_the_active_campaign(
    page: Page, connected: Site
) -> None:
    open_settings(page, connected)
    options = page.locator(f"{LIST_SELECT} option").all_inner_texts()
    assert options[0] == "No list (nothing syncs)"
    assert [option.split(" (")[0] for option in options[1:]] == [
        PLAIN_LIST,
        ACTIVE_CAMPAIGN_LIST,
        "Cold outreach",
    ]
    campaign = next(option for option in options if option.startswith(ACTIVE_CAMPAIGN_LIST))
    assert '⚠ active Snov.io campaign "Webinar nurture"' in campaign
    assert "⚠" not in "".join(option for option in options if option != campaign)

    warning = page.locator(f'[data-warning-for="{LIST_SELECT[1:]}"]')
    expect(warning).to_have_count(0)
    choose_list(page, ACTIVE_CAMPAIGN_LIST)
    expect(warning).to_contain_text(
        'The list "Webinar follow-up" is used by the active Snov.io campaign "Webinar nurture"'
    )
    snap(page, "settings-campaign-warning")
    choose_list(page, PLAIN_LIST)
    expect(warning).to_have_count(0)


def test_a_blank_mapping_row_is_gone_after_save_and_warnings_show_above_the_form(
    page: Page, connected: Site
) -> None:
    open_settings(page, connected)
    rows = mapping_rows(page)
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="+ Add a row").click()
    expect(rows).to_have_count(4)
    choose_list(page, PLAIN_LIST)
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_test_id("settings-message")).to_have_text("Saved the settings.")
    expect(rows).to_have_count(3)
    saved = connected.host.saved_settings()
    assert saved is not None
    assert [row["source"] for row in saved.settings["field_mappings"]] == [
        "person.email",
        "person.name",
        "person.phone",
    ]
    warnings = page.get_by_test_id("settings-warnings")
    expect(warnings).to_contain_text("No lifecycle status field is chosen")
    above, form = warnings.bounding_box(), page.locator("#root").bounding_box()
    assert above is not None
    assert form is not None
    assert above["y"] < form["y"]


def test_locked_rows_cannot_be_removed_and_a_removed_one_comes_back(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    open_settings(page, connected)
    locked = page.locator('#root_field_mappings .array-row[data-locked="true"]')
    expect(locked).to_have_count(3)
    expect(locked.get_by_role("img", name="Locked")).to_have_count(3)
    expect(locked.get_by_role("button", name="Remove")).to_have_count(0)
    expect(locked.first.get_by_label("Source")).to_have_attribute("readonly", "")
    expect(locked.first.get_by_label("Target")).to_be_disabled()

    # A host that does not honour the lock sends the mapping without the phone row.
    token = page.request.get(connected.url("/api/me")).json()["csrf_token"]
    answer = page.request.put(
        connected.url("/api/integrations/snov/settings"),
        data=json.dumps(
            {
                "target_list_id": list_id(snov_emulator, keys, PLAIN_LIST),
                "field_mappings": [
                    {"source": "person.email", "target": "prospect.email", "locked": True},
                    {"source": "person.name", "target": "prospect.name", "locked": True},
                ],
            }
        ),
        headers={
            "Content-Type": "application/json",
            "Origin": connected.base_url,
            "X-CSRF-Token": token,
        },
    )
    assert answer.status == 200

    page.reload()
    expect(locked).to_have_count(3)
    expect(locked.nth(2).get_by_label("Source")).to_have_value(
        "Phone of the invitee or respondent (person.phone)"
    )
    expect(locked.nth(2).locator("select option:checked")).to_have_text("Phone (prospect.phone)")


def test_an_unknown_custom_field_shows_its_error_next_to_the_row(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    open_settings(page, connected)
    choose_list(page, PLAIN_LIST)
    page.get_by_role("button", name="+ Add a row").click()
    row = mapping_rows(page).nth(3)
    row.get_by_label("Source").fill("invitee_form_question:size")
    row.get_by_label("Target").select_option(label="Company size (custom field)")
    # Someone deletes the field in Snov.io while the page is open.
    snov_emulator.state.delete_custom_field(keys.client_id, "Company size")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_test_id("settings-problems")).to_contain_text("The settings were not saved")
    expect(row.locator(".field-errors")).to_have_text(
        'Snov.io has no custom field "Company size": create it in Snov.io or choose one'
        " that exists."
    )
    expect(mapping_rows(page).nth(2).locator(".field-errors")).to_have_count(0)
    assert connected.host.saved_settings() is None
    snap(page, "settings-errors")


def test_create_a_new_list_selects_it_at_once(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    open_settings(page, connected)
    page.get_by_role("button", name="Create a new list").click()
    dialog = page.get_by_role("dialog", name="Create a new list")
    dialog.get_by_label("List name").fill("Spring webinar leads")
    snap(page, "settings-create-list")
    dialog.get_by_role("button", name="Create a new list").click()

    expect(dialog).to_have_count(0)
    new_id = list_id(snov_emulator, keys, "Spring webinar leads")
    expect(page.locator(f"{LIST_SELECT} option:checked")).to_have_text(
        "Spring webinar leads (0 prospects)"
    )
    expect(page.get_by_test_id("settings-message")).to_contain_text('"Spring webinar leads"')
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_test_id("settings-message")).to_have_text("Saved the settings.")
    saved = connected.host.saved_settings()
    assert saved is not None
    assert saved.settings["target_list_id"] == new_id


def test_when_snov_cannot_be_asked_the_notice_shows_and_the_form_takes_free_entry(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    snov_emulator.state.revoke_credentials(keys.client_id)
    connected.sign_in(page, next_path="/integrations/snov")
    expect(page.get_by_test_id("settings-notice")).to_contain_text(
        "Snov.io rejected the saved API keys"
    )
    expect(page.locator(LIST_SELECT)).to_have_attribute(
        "placeholder", "The list ID, from the list's Snov.io address"
    )
    expect(page.locator(".form-intro")).to_have_count(0)


# ---- the sync log --------------------------------------------------------------------------


def run_cli(site: Site, snov_emulator: SnovEmulator, *args: str, stdin: str = "") -> str:
    environ = {
        **{
            name: value for name, value in os.environ.items() if not name.startswith("FORTYTWOMIN_")
        },
        "FORTYTWOMIN_SNOV_API_BASE": snov_emulator.base_url,
        "FORTYTWOMIN_SNOV_RATE_LIMIT": "10000",
    }
    result = subprocess.run(
        [*COMMAND, *args, "--db", str(site.host.path)],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_booking_sent_through_the_cli_shows_in_the_log_with_its_outcome(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    connected.host.save_settings({"target_list_id": list_id(snov_emulator, keys, PLAIN_LIST)})
    events = jsonl(booking_event(1, "jane@example.com", event_id="evt-web-1", uid="bk-web-1"))
    run_cli(connected, snov_emulator, "send", "-", stdin=events)
    # send refuses a malformed email; a host queueing without check_event logs it failed.
    connected.host.enqueue(booking_event(2, "dana@example", event_id="evt-web-2", uid="bk-web-2"))
    run_cli(connected, snov_emulator, "work", "--until-empty")

    connected.sign_in(page, next_path="/integrations/snov/log")
    entries = page.locator("tbody tr")
    expect(entries).to_have_count(2)
    newest, oldest = entries.nth(0), entries.nth(1)
    expect(oldest).to_have_attribute("data-status", "synced")
    expect(oldest).to_contain_text("jane@example.com")
    expect(oldest).to_contain_text("prospect_added")
    expect(oldest).to_contain_text("Added jane@example.com to the Snov.io list.")
    expect(newest).to_have_attribute("data-status", "failed")
    expect(newest).to_contain_text("'dana@example' is not an email address")
    expect(newest.get_by_role("button", name="Replay")).to_be_visible()
    expect(oldest.get_by_role("button", name="Replay")).to_have_count(0)

    page.get_by_role("group", name="Filter by status").get_by_role("button", name="Synced").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("jane@example.com")
    page.get_by_role("button", name="Failed", exact=True).click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("dana@example")


def test_a_backfilled_booking_is_marked_in_the_log(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    connected.host.save_settings({"target_list_id": list_id(snov_emulator, keys, PLAIN_LIST)})
    earlier = booking_event(1, "jane@example.com", event_id="evt-web-1", uid="bk-web-1")
    run_cli(connected, snov_emulator, "backfill", "-", stdin=jsonl(earlier))
    run_cli(connected, snov_emulator, "send", "-", stdin=jsonl(booking_event(2, "kim@example.com")))
    run_cli(connected, snov_emulator, "work", "--until-empty")

    connected.sign_in(page, next_path="/integrations/snov/log")
    entries = page.locator("tbody tr")
    expect(entries).to_have_count(2)
    live, backfilled = entries.nth(0), entries.nth(1)
    expect(backfilled).to_contain_text("jane@example.com")
    expect(backfilled.locator(".backfill-mark")).to_have_text("backfill")
    expect(live).to_contain_text("kim@example.com")
    expect(live.locator(".backfill-mark")).to_have_count(0)


def test_replay_runs_a_failed_sync_again(
    page: Page,
    start_site: Callable[..., Site],
    snov_emulator: SnovEmulator,
    keys: Credentials,
) -> None:
    site = start_site(worker=True)
    site.host.connect(
        {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
        {"id": "usr_admin", "role": "admin"},
    )
    target = list_id(snov_emulator, keys, PLAIN_LIST)
    site.host.save_settings({"target_list_id": target})
    # Snov.io refuses to update a prospect already in the list, until that is fixed.
    snov_emulator.configure(update_contact_updates_same_list=False)
    snov_emulator.state.create_prospect(
        keys.client_id, target, {"email": "jane@example.com", "first_name": "Old"}
    )
    site.host.enqueue(booking_event(1, "jane@example.com", event_id="evt-web-1", uid="bk-web-1"))

    site.sign_in(page, next_path="/integrations/snov/log")
    entries = page.locator("tbody tr")
    failed = entries.filter(has=page.locator('[class~="status-failed"]'))
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("snov_rejected")
    expect(failed).to_contain_text("Snov.io refused to write jane@example.com")

    snov_emulator.configure(update_contact_updates_same_list=True)
    failed.get_by_role("button", name="Replay").click()
    expect(page.get_by_test_id("log-message")).to_contain_text("Queued again: 1 job (1)")
    expect(entries).to_have_count(2)
    expect(entries.first).to_have_attribute("data-status", "synced")
    expect(entries.first).to_contain_text("attempt 2")
    expect(entries.first).to_contain_text("prospect_updated")
    expect(page.get_by_role("button", name="Replay", exact=True)).to_have_count(0)


def test_replay_all_failed_asks_first(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    connected.host.save_settings({"target_list_id": list_id(snov_emulator, keys, PLAIN_LIST)})
    connected.host.enqueue(booking_event(1, "dana@example", event_id="evt-web-1", uid="bk-1"))
    connected.host.work(until_empty=True)
    connected.sign_in(page, next_path="/integrations/snov/log")
    expect(page.locator('tbody tr[data-status="failed"]')).to_have_count(1)

    page.get_by_role("button", name="Replay all failed").click()
    confirm = page.get_by_role("dialog", name="Replay all failed syncs?")
    expect(confirm).to_contain_text("1 failed job will be queued again")
    snap(page, "log-replay-confirm")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    assert connected.host.job_counts()["failed"] == 1

    page.get_by_role("button", name="Replay all failed").click()
    confirm.get_by_role("button", name="Replay 1 job").click()
    expect(page.get_by_test_id("log-message")).to_contain_text("Queued again: 1 job")
    assert connected.host.job_counts()["queued"] == 1


def test_a_member_sees_the_pages_without_the_controls_that_change_things(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    connected.host.save_settings({"target_list_id": list_id(snov_emulator, keys, PLAIN_LIST)})
    connected.host.enqueue(booking_event(1, "dana@example", event_id="evt-web-1", uid="bk-1"))
    connected.host.work(until_empty=True)
    connected.sign_in(page, MEMBER, "member", next_path="/integrations/snov")
    expect(page.get_by_test_id("user-menu")).to_contain_text("member")

    expect(page.locator(LIST_SELECT)).to_be_disabled()
    expect(page.get_by_test_id("settings-read-only")).to_contain_text("signed in as a member")
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Create a new list")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Snov.io pages")
    expect(tabs.get_by_role("link", name="Sync log")).to_be_visible()
    expect(tabs.get_by_role("link", name="Disconnect")).to_have_count(0)
    snap(page, "settings-member")

    tabs.get_by_role("link", name="Sync log").click()
    failed = page.locator('tbody tr[data-status="failed"]')
    expect(failed).to_contain_text("dana@example")
    expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    expect(page.get_by_role("button", name="Replay all failed")).to_have_count(0)

    page.goto(connected.url("/integrations/snov/disconnect"))
    expect(page.get_by_role("button", name="Disconnect Snov.io")).to_have_count(0)
    expect(page.get_by_text("Only owners and admins can disconnect Snov.io")).to_be_visible()
    assert connected.host.status().connected


def test_without_a_session_the_pages_say_how_to_sign_in_and_sign_out_ends_it(
    page: Page, site: Site
) -> None:
    page.goto(site.url("/integrations/snov/log"))
    signed_out = page.get_by_test_id("signed-out")
    expect(signed_out).to_contain_text("fortytwomin-snov users login")
    expect(page.locator("tbody tr")).to_have_count(0)
    snap(page, "sign-in")

    site.sign_in(page)
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(signed_out).to_contain_text("You are signed out.")
    page.reload()
    expect(signed_out).to_be_visible()
    answer = page.request.get(site.url("/api/integrations"))
    assert answer.status == 401


def test_a_used_link_signs_nobody_in(page: Page, site: Site) -> None:
    users.add_user(site.host.database, OWNER, "owner", now=time.time())
    link = users.issue_link(site.host.database, OWNER, site.base_url, now=time.time())
    page.goto(link)
    expect(page.get_by_test_id("user-menu")).to_contain_text(OWNER)
    page.context.clear_cookies()
    answer = page.goto(link)
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("heading", name="Not signed in")).to_be_visible()


# ---- the demo: every page with content, then disconnect and connect again --------------


def test_the_demo_shows_every_page_and_connects_again_after_disconnect(
    page: Page, start_site: Callable[..., Site], tmp_path: Path
) -> None:
    with demo_environment() as environment:
        host = ReferenceHost(tmp_path / "demo.db")
        run_demo(host, environment)
        site = start_site(host=host)

        site.sign_in(page)
        expect(page.get_by_role("article", name="Snov.io")).to_contain_text("Connected")
        snap(page, "integrations")

        page.get_by_role("link", name="Settings").click()
        expect(page.locator(f"{LIST_SELECT} option:checked")).to_contain_text(DEMO_LIST_NAME)
        expect(mapping_rows(page)).to_have_count(5)
        snap(page, "settings")

        page.get_by_role("link", name="Sync log").click()
        entries = page.locator("tbody tr")
        expect(entries).to_have_count(15)
        statuses = set(entries.evaluate_all("rows => rows.map(row => row.dataset.status)"))
        assert statuses == {"synced", "skipped", "failed"}
        snap(page, "log")

        page.get_by_role("link", name="Disconnect").click()
        expect(page.get_by_test_id("disconnect-note")).to_contain_text(
            "What was already synced to Snov.io stays there"
        )
        snap(page, "disconnect")
        page.get_by_role("button", name="Disconnect Snov.io").click()
        confirm = page.get_by_role("dialog", name="Disconnect Snov.io?")
        expect(confirm).to_contain_text("Nothing already synced is deleted")
        snap(page, "disconnect-confirm")
        confirm.get_by_role("button", name="Cancel").click()
        expect(confirm).to_have_count(0)
        assert host.status().connected
        page.get_by_role("button", name="Disconnect Snov.io").click()
        confirm.get_by_role("button", name="Yes, disconnect Snov.io").click()
        expect(page).to_have_url(site.url("/integrations"))
        expect(page.get_by_role("status")).to_contain_text(
            "What was already synced to Snov.io stays there"
        )
        assert not host.status().connected
        # The log outlives the connection: its button stays on the card.
        card = page.get_by_role("article", name="Snov.io")
        expect(card.get_by_role("link", name="Log")).to_be_visible()

        page.get_by_role("link", name="Connect Snov.io").click()
        expect(page.get_by_role("heading", name="Connect Snov.io")).to_be_visible()
        expect(page.locator(".tabs [aria-current=page]")).to_have_text("Connect Snov.io")
        snap(page, "connect")
        fill_keys(page, DEMO_CREDENTIALS.client_id, DEMO_CREDENTIALS.client_secret)
        page.get_by_role("button", name="Connect Snov.io").click()
        expect(page.get_by_test_id("connection-state")).to_have_text("Connected")
        expect(page.locator(f"{LIST_SELECT} option:checked")).to_contain_text(DEMO_LIST_NAME)
        assert host.status().connected


# ---- serve: what `fortytwomin-snov serve --demo` runs ---------------------------------------

SERVE_DEMO = "from fortytwomin_snov.host.web_server import serve; serve(port=0, demo=True)"


def read_line_with(process: subprocess.Popen[str], wanted: str, timeout: float) -> list[str]:
    """stdout lines up to the first holding ``wanted``.

    Read from the descriptor itself: lines that arrive together must not wait in a buffer
    that select() cannot see."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    received = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        received += chunk
        lines = received.decode("utf-8", errors="replace").splitlines(keepends=True)
        for index, line in enumerate(lines):
            if wanted in line and line.endswith("\n"):
                return lines[: index + 1]
    raise AssertionError(f"no line with {wanted!r} within {timeout} s: {received!r}")


def test_serve_demo_serves_a_connected_host_until_interrupted(frontend_dist: Path) -> None:
    environ = {
        name: value for name, value in os.environ.items() if not name.startswith("FORTYTWOMIN_")
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_DEMO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        lines = read_line_with(process, "/auth/sign-in?token=", timeout=60)
        printed = "".join(lines)
        assert DEMO_CREDENTIALS.client_id in printed
        assert "This demo runs its own emulator and database, apart from any earlier" in printed
        url = re.search(r"(http://127\.0\.0\.1:\d+)/integrations", printed)
        assert url is not None, printed
        link = re.search(r"Sign in as demo-owner@example\.com .*: (http://\S+)", printed)
        assert link is not None, printed
        with httpx.Client(base_url=url.group(1), timeout=10) as client:
            assert client.get("/api/integrations").status_code == 401
            assert client.get(link.group(1)).status_code == 303
            assert client.get("/api/me").json()["user"]["role"] == "owner"
            cards = client.get("/api/integrations").json()["integrations"]
            assert [(card["slug"], card["connected"]) for card in cards] == [("snov", True)]
            log = client.get("/api/integrations/snov/log").json()
            assert len(log["entries"]) == 15
            assert '<div id="app">' in client.get("/integrations/snov/log").text
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip().endswith("Stopped.")
    assert "Traceback" not in err


# ---- mapping sources by label, and the page while it loads -------------------------------


def test_a_mapping_source_is_picked_by_its_label(
    page: Page, connected: Site, snov_emulator: SnovEmulator, keys: Credentials
) -> None:
    connected.host.add_question(
        "invitee_form_question:team_size", "How big is your team?", "Intro call"
    )
    connected.host.add_question("routing_form_field:budget", "Budget", "Pricing form")
    open_settings(page, connected)
    choose_list(page, PLAIN_LIST)
    page.get_by_role("button", name="+ Add a row").click()
    row = mapping_rows(page).nth(3)
    source = row.get_by_label("Source")
    source.click()
    source.fill("team")
    options = row.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(1)
    options.first.click()
    expect(source).to_have_value("How big is your team? — Intro call")
    row.get_by_label("Target").select_option(label="Company (prospect.company)")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_test_id("settings-message")).to_have_text("Saved the settings.")
    saved = connected.host.saved_settings()
    assert saved is not None
    assert saved.settings["field_mappings"][3]["source"] == "invitee_form_question:team_size"


def test_a_source_no_form_asks_yet_is_kept_with_a_warning(page: Page, connected: Site) -> None:
    open_settings(page, connected)
    choose_list(page, PLAIN_LIST)
    page.get_by_role("button", name="+ Add a row").click()
    row = mapping_rows(page).nth(3)
    row.get_by_label("Source").fill("invitee_form_question:later")
    row.get_by_label("Target").select_option(label="Position (prospect.position)")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_test_id("settings-warnings")).to_contain_text(
        "reads invitee_form_question:later, which none of your forms asks yet"
    )
    expect(row.get_by_label("Source")).to_have_value("invitee_form_question:later")


def test_not_saved_yet_never_shows_while_the_saved_settings_load(
    page: Page, connected: Site
) -> None:
    connected.host.save_settings({})
    held: list[Any] = []
    page.route("**/api/integrations/snov/settings", lambda route: held.append(route))
    connected.sign_in(page, next_path="/integrations/snov")
    expect(page.get_by_text("Loading the form…")).to_be_visible()
    page.wait_for_timeout(0)  # let the held request reach the route
    assert held, "the settings request was not made"
    expect(page.get_by_text("Not saved yet")).to_have_count(0)
    held[0].continue_()
    expect(page.get_by_test_id("settings-saved-at")).to_contain_text("Last saved")
    expect(page.get_by_text("Not saved yet")).to_have_count(0)


def test_connect_is_the_highlighted_tab_while_reconnecting(page: Page, connected: Site) -> None:
    connected.sign_in(page, next_path="/integrations/snov/connect")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Connect Snov.io")

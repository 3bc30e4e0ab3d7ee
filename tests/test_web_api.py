"""The admin pages' JSON API (``fortytwomin_snov.host.web``), called over HTTP as the pages
call it, on the real server (:class:`AdminServer`, an ephemeral port), over a real
:class:`ReferenceHost` and the Snov.io emulator. The pages themselves are
tested in a browser in ``test_web_pages.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.web import create_app
from fortytwomin_snov.host.web_server import AdminServer
from fortytwomin_snov.testing import Credentials, SnovEmulator, seed_demo
from tests.factories import booking_event

API = "/api/integrations/snov"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def keys(snov_emulator: SnovEmulator) -> Credentials:
    return seed_demo(snov_emulator.state)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    with ReferenceHost(tmp_path / "host.db") as reference:
        yield reference


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A stand-in build: the API does not need the real front end."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>admin</title><div id=root></div>")
    (folder / "assets" / "app.js").write_text("console.log('admin')")
    return folder


@pytest.fixture
def server(host: ReferenceHost, dist: Path) -> Iterator[AdminServer]:
    with AdminServer(create_app(host, dist)) as running:
        yield running


@pytest.fixture
def client(server: AdminServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


@pytest.fixture
def connected(client: httpx.Client, keys: Credentials) -> Credentials:
    answer = client.post(
        f"{API}/connect",
        json={
            "credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            "role": "owner",
        },
    )
    assert answer.status_code == 200, answer.text
    return keys


def test_integrations_list_the_manifest_under_its_category(client: httpx.Client) -> None:
    answer = client.get("/api/integrations")
    assert answer.status_code == 200
    (card,) = answer.json()["integrations"]
    assert card["slug"] == "snov"
    assert card["name"] == "Snov.io"
    assert card["category"] == "crm"
    assert card["managed"] is True
    assert card["connected"] is False
    assert "credentials_schema" not in card


def test_connect_saves_the_connection_and_never_sends_the_secret_back(
    client: httpx.Client, keys: Credentials, host: ReferenceHost
) -> None:
    answer = client.post(
        f"{API}/connect",
        json={
            "credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            "role": "admin",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["connection"]["connected_by"] == "web-admin"
    assert host.status().connected
    for path in ("/api/integrations", API, f"{API}/settings", f"{API}/log"):
        reply = client.get(path)
        assert reply.status_code == 200, (path, reply.text)
        assert keys.client_secret not in reply.text, path
    assert keys.client_secret not in answer.text


def test_rejected_keys_are_a_422_with_the_admin_message_and_nothing_is_saved(
    client: httpx.Client, keys: Credentials, host: ReferenceHost
) -> None:
    answer = client.post(
        f"{API}/connect",
        json={
            "credentials": {"api_user_id": keys.client_id, "api_secret": "wrong"},
            "role": "admin",
        },
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["type"] == "InvalidCredentials"
    assert "Snov.io rejected these keys" in error["message"]
    assert not host.status().connected


def test_a_member_is_refused_before_snov_is_asked(
    client: httpx.Client, keys: Credentials, host: ReferenceHost, snov_emulator: SnovEmulator
) -> None:
    answer = client.post(
        f"{API}/connect",
        json={
            "credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            "role": "member",
        },
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["type"] == "PermissionDenied"
    assert "owners and admins" in answer.json()["error"]["message"]
    assert not host.status().connected
    assert snov_emulator.state.requests() == []


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ({"credentials": {}, "role": "guest"}, "role is one of owner, admin, member."),
        ({"role": "admin"}, "credentials must be a JSON object."),
        ([], "The request must be a JSON object."),
    ],
)
def test_a_malformed_connect_request_is_a_400(
    client: httpx.Client, body: Any, wanted: str, host: ReferenceHost
) -> None:
    answer = client.post(f"{API}/connect", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == wanted
    assert not host.status().connected


def test_a_body_that_is_not_json_is_refused(client: httpx.Client) -> None:
    as_form = client.post(f"{API}/disconnect", data={"x": "1"})
    assert as_form.status_code == 415
    broken = client.post(f"{API}/connect", content=b"{", headers=JSON)
    assert broken.status_code == 400
    assert broken.json()["error"]["message"] == "The request body is not JSON."


def test_only_the_loopback_host_names_are_served(client: httpx.Client) -> None:
    # A page of another site that resolved its own name to 127.0.0.1 (DNS rebinding).
    foreign = client.get("/api/integrations", headers={"Host": "attacker.example:8042"})
    assert foreign.status_code == 400
    assert client.get("/api/integrations", headers={"Host": "localhost"}).status_code == 200


def test_settings_need_a_connection(client: httpx.Client) -> None:
    answer = client.get(f"{API}/settings")
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "NotConnected"


def test_settings_errors_carry_pointers_into_the_submitted_document(
    client: httpx.Client, connected: Credentials, host: ReferenceHost
) -> None:
    document = {
        "target_list_id": 999999,
        "field_mappings": [
            {"source": "", "target": ""},
            {"source": "invitee_form_question:size", "target": "prospect.cf_No such field"},
        ],
    }
    answer = client.put(f"{API}/settings", json=document)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["type"] == "InvalidSettings"
    pointers = {problem["pointer"]: problem["message"] for problem in error["errors"]}
    assert "does not exist" in pointers["/target_list_id"]
    assert 'no custom field "No such field"' in pointers["/field_mappings/1/target"]
    assert host.saved_settings() is None


def test_saving_returns_the_normalised_document_and_its_warnings(
    client: httpx.Client, connected: Credentials, snov_emulator: SnovEmulator
) -> None:
    target = next(
        item for item in snov_emulator.state.lists(connected.client_id) if not item.deleted
    )
    answer = client.put(
        f"{API}/settings",
        json={"target_list_id": target.id, "field_mappings": [{"source": "", "target": ""}]},
    )
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert [row["source"] for row in saved["settings"]["field_mappings"]] == [
        "person.email",
        "person.name",
        "person.phone",
    ]
    assert any("No lifecycle status field" in warning for warning in saved["warnings"])
    again = client.get(f"{API}/settings").json()
    assert again["saved"]["settings"] == saved["settings"]
    assert again["form"]["schema"]["properties"]["target_list_id"]["oneOf"]


def test_an_action_returns_its_result_and_an_unknown_one_is_a_422(
    client: httpx.Client, connected: Credentials, snov_emulator: SnovEmulator
) -> None:
    created = client.post(f"{API}/actions/create_list", json={"name": "Spring leads"})
    assert created.status_code == 200, created.text
    new_id = created.json()["id"]
    names = {item.id: item.name for item in snov_emulator.state.lists(connected.client_id)}
    assert names[new_id] == "Spring leads"
    unknown = client.post(f"{API}/actions/drop_everything", json={})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["type"] == "InvalidRequest"


def test_the_log_is_filtered_by_status_and_marks_what_can_be_replayed(
    client: httpx.Client, connected: Credentials, host: ReferenceHost, snov_emulator: SnovEmulator
) -> None:
    target = next(
        item for item in snov_emulator.state.lists(connected.client_id) if not item.deleted
    )
    host.save_settings({"target_list_id": target.id})
    host.enqueue_many([booking_event(1, "jane@example.com"), booking_event(2, "dana@example")])
    host.work(until_empty=True)

    everything = client.get(f"{API}/log").json()
    assert [entry["status"] for entry in everything["entries"]] == ["failed", "synced"]
    failed, synced = everything["entries"]
    assert (failed["job_state"], failed["replayable"]) == ("failed", True)
    assert (synced["job_state"], synced["replayable"]) == ("done", False)
    assert "outcome" not in failed
    assert everything["jobs"]["failed"] == 1

    only_failed = client.get(f"{API}/log", params={"status": "failed"}).json()
    assert [entry["email"] for entry in only_failed["entries"]] == ["dana@example"]
    assert client.get(f"{API}/log", params={"status": "lost"}).status_code == 400
    assert client.get(f"{API}/log", params={"limit": "0"}).status_code == 400

    replayed = client.post(f"{API}/replay", json={"job_ids": [failed["job_id"]]})
    assert replayed.json() == {"queued": [failed["job_id"]]}
    after = client.get(f"{API}/log").json()
    assert after["entries"][0]["replayable"] is False
    assert after["jobs"]["queued"] == 1
    assert client.post(f"{API}/replay", json={"job_ids": ["1"]}).status_code == 400
    host.work(until_empty=True)
    assert client.post(f"{API}/replay", json={}).json() == {"queued": [failed["job_id"]]}


def test_disconnect_forgets_the_connection(
    client: httpx.Client, connected: Credentials, host: ReferenceHost
) -> None:
    assert client.post(f"{API}/disconnect", json={}).json() == {"was_connected": True}
    assert not host.status().connected
    assert client.post(f"{API}/disconnect", json={}).json() == {"was_connected": False}


def test_another_slug_and_unknown_endpoints_are_404(client: httpx.Client) -> None:
    assert client.get("/api/integrations/hubspot").status_code == 404
    assert client.get("/api/nothing-here").json()["error"]["type"] == "NotFound"


def test_every_page_path_serves_the_app(client: httpx.Client, dist: Path) -> None:
    for path in ("/", "/integrations", "/integrations/snov/log"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.text == (dist / "index.html").read_text()
    assert client.get("/assets/app.js").text == "console.log('admin')"


def test_the_app_refuses_a_missing_build(host: ReferenceHost, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not built"):
        create_app(host, tmp_path / "nothing")

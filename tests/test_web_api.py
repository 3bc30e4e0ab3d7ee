"""The admin pages' JSON API (``fortytwomin_snov.host.web``), called over HTTP as the pages
call it, on the real server (:class:`AdminServer`, an ephemeral port), over a real
:class:`ReferenceHost` and the Snov.io emulator. Each client signs in as the pages' users
do, through a one-time link; sign-in, roles, CSRF and origin checks, the security headers
and the refusal of malformed requests are tested here too. The pages themselves are
tested in a browser in ``test_web_pages.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from fortytwomin_snov.host import users
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.web import create_app
from fortytwomin_snov.host.web_server import AdminServer
from fortytwomin_snov.testing import Credentials, SnovEmulator, seed_demo
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event

API = "/api/integrations/snov"
JSON = {"Content-Type": "application/json"}
OWNER = "owner@example.com"
ADMIN = "admin@example.com"
MEMBER = "member@example.com"
SignIn = Callable[..., httpx.Client]


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
def server(host: ReferenceHost, dist: Path, clock: ManualClock) -> Iterator[AdminServer]:
    with AdminServer(create_app(host, dist, clock=clock)) as running:
        yield running


def link_for(host: ReferenceHost, server: AdminServer, clock: ManualClock, email: str) -> str:
    return users.issue_link(host.database, email, server.base_url, now=clock())


@pytest.fixture
def anonymous(server: AdminServer) -> Iterator[httpx.Client]:
    """A client that never signed in (but sends this site's Origin)."""
    with httpx.Client(
        base_url=server.base_url, timeout=10, headers={"Origin": server.base_url}
    ) as http:
        yield http


@pytest.fixture
def sign_in(server: AdminServer, host: ReferenceHost, clock: ManualClock) -> Iterator[SignIn]:
    """``sign_in(email, role)``: a client signed in through a one-time link, as a browser
    is, sending this site's Origin and the session's CSRF token as the pages do."""
    clients: list[httpx.Client] = []

    def sign_in_as(email: str = OWNER, role: str = "owner") -> httpx.Client:
        if email not in {user.email for user in users.list_users(host.database)}:
            users.add_user(host.database, email, role, now=clock())
        http = httpx.Client(base_url=server.base_url, timeout=10)
        clients.append(http)
        answer = http.get(link_for(host, server, clock, email))
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/integrations"
        me = http.get("/api/me")
        assert me.status_code == 200, me.text
        http.headers.update({"Origin": server.base_url, "X-CSRF-Token": me.json()["csrf_token"]})
        return http

    yield sign_in_as
    for http in clients:
        http.close()


@pytest.fixture
def client(sign_in: SignIn) -> httpx.Client:
    """Signed in as an owner."""
    return sign_in()


@pytest.fixture
def member(sign_in: SignIn) -> httpx.Client:
    return sign_in(MEMBER, "member")


@pytest.fixture
def connected(client: httpx.Client, keys: Credentials) -> Credentials:
    answer = client.post(
        f"{API}/connect",
        json={"credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret}},
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
    sign_in: SignIn, keys: Credentials, host: ReferenceHost
) -> None:
    client = sign_in(ADMIN, "admin")
    answer = client.post(
        f"{API}/connect",
        json={"credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["connection"]["connected_by"] == ADMIN
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
        json={"credentials": {"api_user_id": keys.client_id, "api_secret": "wrong"}},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["type"] == "InvalidCredentials"
    assert "Snov.io rejected these keys" in error["message"]
    assert not host.status().connected


def test_a_member_is_refused_before_snov_is_asked(
    member: httpx.Client, keys: Credentials, host: ReferenceHost, snov_emulator: SnovEmulator
) -> None:
    answer = member.post(
        f"{API}/connect",
        json={"credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret}},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["type"] == "PermissionDenied"
    assert "owners and admins" in answer.json()["error"]["message"]
    assert not host.status().connected
    assert snov_emulator.state.requests() == []


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ({"credentials": "keys"}, "credentials must be a JSON object."),
        ({}, "credentials must be a JSON object."),
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


def save_settings_with_a_list(
    host: ReferenceHost, connected: Credentials, snov_emulator: SnovEmulator
) -> None:
    target = next(
        item for item in snov_emulator.state.lists(connected.client_id) if not item.deleted
    )
    host.save_settings({"target_list_id": target.id})


def test_the_log_is_filtered_by_status_and_marks_what_can_be_replayed(
    client: httpx.Client, connected: Credentials, host: ReferenceHost, snov_emulator: SnovEmulator
) -> None:
    save_settings_with_a_list(host, connected, snov_emulator)
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


def test_the_log_marks_backfilled_entries_and_live_ones_went_first(
    client: httpx.Client, connected: Credentials, host: ReferenceHost, snov_emulator: SnovEmulator
) -> None:
    save_settings_with_a_list(host, connected, snov_emulator)
    host.enqueue_backfill([booking_event(1, "jane@example.com")])
    host.enqueue(booking_event(2, "kim@example.com"))
    host.work(until_empty=True)
    entries = client.get(f"{API}/log").json()["entries"]
    # Newest first: the live event, queued last, was synced first.
    assert [(entry["email"], entry["origin"]) for entry in entries] == [
        ("jane@example.com", "backfill"),
        ("kim@example.com", "live"),
    ]


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


# ---- signing in ------------------------------------------------------------------------------

EVERY_ROUTE = [
    ("GET", "/api/me"),
    ("POST", "/api/sign-out"),
    ("GET", "/api/integrations"),
    ("GET", API),
    ("POST", f"{API}/connect"),
    ("POST", f"{API}/disconnect"),
    ("GET", f"{API}/settings"),
    ("PUT", f"{API}/settings"),
    ("POST", f"{API}/actions/create_list"),
    ("GET", f"{API}/log"),
    ("POST", f"{API}/replay"),
    ("GET", "/api/integrations/hubspot"),
    ("GET", "/api/nothing-here"),
]
CHANGES = [
    ("POST", f"{API}/connect", {"credentials": {"api_user_id": "x", "api_secret": "y"}}),
    ("POST", f"{API}/disconnect", {}),
    ("PUT", f"{API}/settings", {}),
    ("POST", f"{API}/actions/create_list", {"name": "Leads"}),
    ("POST", f"{API}/replay", {}),
]


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
def test_every_api_route_needs_a_signed_in_user(
    anonymous: httpx.Client, method: str, path: str
) -> None:
    answer = anonymous.request(method, path, json={})
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["type"] == "NotSignedIn"
    assert "fortytwomin-snov users login" in error["message"]


def test_a_link_signs_in_once_and_a_new_session_gets_the_users_role(
    anonymous: httpx.Client, host: ReferenceHost, server: AdminServer, clock: ManualClock
) -> None:
    users.add_user(host.database, "Dana@Example.com", "admin", now=clock())
    link = link_for(host, server, clock, "dana@example.com")
    answer = anonymous.get(link)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/integrations"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    me = anonymous.get("/api/me").json()
    assert me["user"]["email"] == "dana@example.com"
    assert (me["user"]["role"], me["may_change"]) == ("admin", True)
    assert len(me["csrf_token"]) >= 32

    with httpx.Client(base_url=server.base_url, timeout=10) as other:
        again = other.get(link)
        assert again.status_code == 400
        assert "used already" in again.text
        assert other.get("/api/me").status_code == 401


def test_the_database_keeps_only_a_hash_of_the_token(
    host: ReferenceHost, server: AdminServer, clock: ManualClock
) -> None:
    users.add_user(host.database, OWNER, "owner", now=clock())
    token = link_for(host, server, clock, OWNER).split("token=")[1]
    with host.database.read() as db:
        stored = [tuple(row) for row in db.execute("SELECT * FROM sign_in_links")]
    assert len(stored) == 1
    assert token not in repr(stored)


def test_a_link_expires_after_15_minutes(
    anonymous: httpx.Client, host: ReferenceHost, server: AdminServer, clock: ManualClock
) -> None:
    users.add_user(host.database, OWNER, "owner", now=clock())
    late = link_for(host, server, clock, OWNER)
    in_time = link_for(host, server, clock, OWNER)
    clock.advance(15 * 60 - 1)
    assert anonymous.get(in_time).status_code == 303
    anonymous.cookies.clear()
    clock.advance(1)
    refused = anonymous.get(late)
    assert refused.status_code == 400
    assert "expired" in refused.text
    assert anonymous.get("/api/me").status_code == 401


def test_a_link_opens_its_next_page(
    anonymous: httpx.Client, host: ReferenceHost, server: AdminServer, clock: ManualClock
) -> None:
    users.add_user(host.database, OWNER, "owner", now=clock())
    link = users.issue_link(
        host.database, OWNER, server.base_url, now=clock(), next_path="/integrations/snov/log"
    )
    answer = anonymous.get(link)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/integrations/snov/log"


@pytest.mark.parametrize(
    "elsewhere",
    [
        "//evil.example/",
        "http://evil.example/",
        "https:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/integrations\r\nSet-Cookie: x=1",
        "evil.example",
    ],
)
def test_a_next_page_elsewhere_is_refused_and_the_link_still_works(
    anonymous: httpx.Client,
    host: ReferenceHost,
    server: AdminServer,
    clock: ManualClock,
    elsewhere: str,
) -> None:
    users.add_user(host.database, OWNER, "owner", now=clock())
    link = link_for(host, server, clock, OWNER)
    refused = anonymous.get(f"{link}&next={quote(elsewhere, safe='')}")
    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert "path of this site" in refused.text
    assert anonymous.get("/api/me").status_code == 401
    with pytest.raises(users.UserError, match="path of this site"):
        users.issue_link(host.database, OWNER, server.base_url, now=clock(), next_path=elsewhere)
    assert anonymous.get(link).status_code == 303


def test_an_unknown_token_is_refused(anonymous: httpx.Client) -> None:
    for query in ("", "?token=", "?token=made-up", "?token=" + "x" * 5000):
        answer = anonymous.get(f"/auth/sign-in{query}")
        assert answer.status_code == 400, query
    assert anonymous.get("/api/me").status_code == 401


def test_sign_out_ends_the_session_and_needs_the_csrf_token(client: httpx.Client) -> None:
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/api/sign-out", json={}).status_code == 403
    assert client.get("/api/me").status_code == 200
    answer = client.post("/api/sign-out", json={}, headers={"X-CSRF-Token": token})
    assert answer.json() == {"signed_out": True}
    assert client.get("/api/me").status_code == 401


def test_a_removed_users_session_stops_working(
    sign_in: SignIn, host: ReferenceHost, clock: ManualClock
) -> None:
    sign_in()
    admin = sign_in(ADMIN, "admin")
    assert admin.get("/api/integrations").status_code == 200
    users.remove_user(host.database, ADMIN)
    assert admin.get("/api/integrations").status_code == 401
    # Added again, they are a new user: the old session still names the removed one.
    users.add_user(host.database, ADMIN, "admin", now=clock())
    assert admin.get("/api/integrations").status_code == 401


def test_a_forged_session_cookie_is_not_a_session(
    anonymous: httpx.Client, client: httpx.Client
) -> None:
    anonymous.cookies.set("fortytwomin_session", "eyJ1aWQiOiAxfQ==.forged.signature")
    assert anonymous.get("/api/me").status_code == 401


# ---- roles -------------------------------------------------------------------------------------


def test_a_member_reads_the_status_and_the_log(
    member: httpx.Client, connected: Credentials
) -> None:
    me = member.get("/api/me").json()
    assert (me["user"]["role"], me["may_change"]) == ("member", False)
    for path in ("/api/integrations", API, f"{API}/settings", f"{API}/log"):
        assert member.get(path).status_code == 200, path


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_member_may_change_nothing(
    member: httpx.Client,
    connected: Credentials,
    host: ReferenceHost,
    snov_emulator: SnovEmulator,
    method: str,
    path: str,
    body: Any,
) -> None:
    before = len(snov_emulator.state.requests())
    answer = member.request(method, path, json=body)
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["type"] == "PermissionDenied"
    assert "Only owners and admins" in error["message"]
    assert "member" in error["message"]
    assert len(snov_emulator.state.requests()) == before
    assert host.status().connected
    assert host.saved_settings() is None


@pytest.mark.parametrize(("email", "role"), [(OWNER, "owner"), (ADMIN, "admin")])
def test_owners_and_admins_may_change_everything(
    sign_in: SignIn,
    keys: Credentials,
    host: ReferenceHost,
    snov_emulator: SnovEmulator,
    email: str,
    role: str,
) -> None:
    client = sign_in(email, role)
    credentials = {"api_user_id": keys.client_id, "api_secret": keys.client_secret}
    assert client.post(f"{API}/connect", json={"credentials": credentials}).status_code == 200
    created = client.post(f"{API}/actions/create_list", json={"name": f"{role} leads"})
    assert created.status_code == 200, created.text
    saved = client.put(f"{API}/settings", json={"target_list_id": created.json()["id"]})
    assert saved.status_code == 200, saved.text
    assert client.post(f"{API}/replay", json={}).json() == {"queued": []}
    assert client.post(f"{API}/disconnect", json={}).json() == {"was_connected": True}


def test_the_actor_is_the_signed_in_user_whatever_the_request_says(
    sign_in: SignIn, keys: Credentials, host: ReferenceHost
) -> None:
    client = sign_in(ADMIN, "admin")
    answer = client.post(
        f"{API}/connect",
        json={
            "credentials": {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            "role": "owner",
            "actor": {"id": "someone-else", "role": "owner"},
        },
    )
    assert answer.status_code == 200, answer.text
    status = host.status()
    assert status.connection is not None
    assert status.connection["connected_by"] == ADMIN


# ---- cross-site requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {},
    ],
)
def test_a_write_from_another_origin_is_refused(
    client: httpx.Client, connected: Credentials, host: ReferenceHost, headers: dict[str, str]
) -> None:
    del client.headers["Origin"]
    answer = client.post(f"{API}/disconnect", json={}, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "This request did not come from the admin pages."
    assert host.status().connected


def test_a_browser_that_sends_no_origin_passes_with_sec_fetch_site(
    client: httpx.Client, connected: Credentials
) -> None:
    del client.headers["Origin"]
    answer = client.post(f"{API}/disconnect", json={}, headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.json() == {"was_connected": True}


@pytest.mark.parametrize("token", [None, "", "wrong", b"\xe9", "other-session"])
def test_a_write_without_the_sessions_csrf_token_is_refused(
    client: httpx.Client,
    sign_in: SignIn,
    connected: Credentials,
    host: ReferenceHost,
    token: str | bytes | None,
) -> None:
    if token == "other-session":
        token = sign_in(ADMIN, "admin").headers["X-CSRF-Token"]
    del client.headers["X-CSRF-Token"]
    sent = {} if token is None else {"X-CSRF-Token": token}
    answer = client.post(f"{API}/disconnect", json={}, headers=sent)
    assert answer.status_code == 403
    assert "CSRF token" in answer.json()["error"]["message"]
    assert host.status().connected


# ---- headers -----------------------------------------------------------------------------------


def test_every_response_forbids_framing_and_foreign_scripts(
    anonymous: httpx.Client, client: httpx.Client
) -> None:
    answers = [
        anonymous.get("/integrations"),
        anonymous.get("/assets/app.js"),
        anonymous.get("/api/integrations"),
        anonymous.get("/auth/sign-in?token=nope"),
        client.get("/api/integrations"),
        client.get("/api/nothing-here"),
        client.post(f"{API}/disconnect", content=b"{", headers=JSON),
        client.get("/api/integrations", headers={"Host": "attacker.example"}),
    ]
    for answer in answers:
        where = (answer.request.url.path, answer.status_code)
        assert answer.headers["X-Frame-Options"] == "DENY", where
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy, where
        assert "script-src 'self'" in policy, where
        assert "unsafe-inline" not in policy, where
        assert answer.headers["X-Content-Type-Options"] == "nosniff", where
        assert answer.headers["Referrer-Policy"] == "same-origin", where
    assert answers[4].headers["Cache-Control"] == "no-store"


# ---- malformed requests ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_a_400(
    client: httpx.Client, connected: Credentials, depth: int
) -> None:
    nested = b"[" * depth + b"]" * depth
    for method, path in (("PUT", f"{API}/settings"), ("POST", f"{API}/actions/create_list")):
        answer = client.request(method, path, content=nested, headers=JSON)
        assert answer.status_code == 400, (path, answer.text)
        assert "nested too deeply" in answer.json()["error"]["message"]
    document = b'{"field_mappings": ' + b"[" * depth + b"]" * depth + b"}"
    assert client.put(f"{API}/settings", content=document, headers=JSON).status_code == 400


def test_json_with_nan_or_a_body_over_a_mebibyte_is_refused(client: httpx.Client) -> None:
    nan = client.put(f"{API}/settings", content=b'{"target_list_id": NaN}', headers=JSON)
    assert nan.status_code == 400
    assert "NaN" in nan.json()["error"]["message"]
    huge = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    answer = client.post(f"{API}/actions/create_list", content=huge, headers=JSON)
    assert answer.status_code == 413
    assert answer.json()["error"]["type"] == "TooLarge"


@pytest.mark.parametrize(
    "limit",
    ["²", "\u0661", "\uff11", "0", "501", "-1", "1e2", " 5", "5 ", "", "99999999999999999999"],
)
def test_a_log_limit_out_of_range_is_a_400(client: httpx.Client, limit: str) -> None:
    answer = client.get(f"{API}/log", params={"limit": limit})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == "limit is a whole number from 1 to 500."


@pytest.mark.parametrize(
    "job_ids", [[2**63], [2**64], [10**30], [0], [-1], [True], [1.5], "1", list(range(1001))]
)
def test_replaying_impossible_job_ids_is_a_400(client: httpx.Client, job_ids: Any) -> None:
    answer = client.post(f"{API}/replay", json={"job_ids": job_ids})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["type"] == "BadRequest"


def test_the_largest_job_id_is_simply_not_found(client: httpx.Client) -> None:
    answer = client.post(f"{API}/replay", json={"job_ids": [2**63 - 1]})
    assert answer.json() == {"queued": []}

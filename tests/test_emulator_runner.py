"""Running the emulator: the background server, the ``emulator`` command and the pytest fixture."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest

from fortytwomin_snov.testing import (
    DEMO_CREDENTIALS,
    EmulatorOptions,
    EmulatorServer,
    EmulatorState,
    ManualClock,
    SnovEmulator,
)
from fortytwomin_snov.testing.cli import main

pytest_plugins = ["pytester"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ---- EmulatorServer -------------------------------------------------------------------


def test_the_server_takes_a_free_port_and_stops_cleanly() -> None:
    with EmulatorServer() as server:
        base_url = server.base_url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        assert server.port != 0
        assert server.running
        assert httpx.get(f"{base_url}/v1/get-balance").status_code == 401

    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/v1/get-balance")


def test_the_server_listens_on_the_port_asked_for() -> None:
    port = free_port()

    with EmulatorServer(port=port) as server:
        assert server.base_url == f"http://127.0.0.1:{port}"


def test_a_port_in_use_is_an_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmulatorServer(port=taken.getsockname()[1])

        with pytest.raises(OSError, match="in use"):
            server.start()


def test_the_server_serves_the_state_it_is_given() -> None:
    clock = ManualClock()
    state = EmulatorState(EmulatorOptions(token_lifetime=60), clock=clock)
    credentials = state.add_account()

    with EmulatorServer(state) as server:
        token = httpx.post(
            f"{server.base_url}/v1/oauth/access_token",
            json={
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        ).json()

    assert server.state is state
    assert token["expires_in"] == 60
    assert state.requests()[0].at == clock()


def test_a_state_and_options_together_are_refused() -> None:
    with pytest.raises(TypeError):
        EmulatorServer(EmulatorState(), options=EmulatorOptions())


def test_a_running_server_cannot_start_again() -> None:
    with EmulatorServer() as server, pytest.raises(RuntimeError):
        server.start()


def test_the_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = EmulatorServer().base_url


# ---- the emulator command -------------------------------------------------------------


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """``python -m fortytwomin_snov.testing.cli --seed-demo --rate-limit 5``, announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fortytwomin_snov.testing.cli", "--seed-demo", "--rate-limit", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, _read_announcement(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _read_announcement(process: subprocess.Popen[bytes]) -> dict[str, str]:
    assert process.stdout is not None
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"Ctrl+C" not in output:
            assert selector.select(timeout=15), "the emulator did not announce itself"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, "the emulator exited early"
            output += chunk
    text = output.decode()
    patterns = {
        "base_url": r"listening on (\S+)",
        "env": r"FORTYTWOMIN_SNOV_API_BASE=(\S+)",
        "client_id": r"Demo API user ID: (\S+)",
        "client_secret": r"Demo API secret: +(\S+)",
    }
    announced: dict[str, str] = {}
    for name, pattern in patterns.items():
        match = re.search(pattern, text)
        assert match, f"no {name} in {text!r}"
        announced[name] = match.group(1)
    return announced


def test_the_command_serves_the_demo_account_and_stops_on_ctrl_c(
    emulator_process: tuple[subprocess.Popen[bytes], dict[str, str]],
) -> None:
    process, announced = emulator_process
    base_url = announced["base_url"]
    assert announced["env"] == base_url
    assert announced["client_id"] == DEMO_CREDENTIALS.client_id
    with httpx.Client(base_url=base_url, timeout=5) as client:
        token = client.post(
            "/v1/oauth/access_token",
            data={
                "grant_type": "client_credentials",
                "client_id": announced["client_id"],
                "client_secret": announced["client_secret"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        lists = client.get("/v1/get-user-lists", headers=headers).json()
        campaigns = client.get("/v1/get-user-campaigns", headers=headers).json()
        fields = client.get("/v1/prospect-custom-fields", headers=headers).json()
        options = client.get("/_emulator/options").json()

    assert sum(item["isDeleted"] for item in lists) == 1
    list_ids = {item["id"] for item in lists if not item["isDeleted"]}
    assert sorted(c["status"] for c in campaigns) == ["Active", "Paused"]
    assert {c["list_id"] for c in campaigns} < list_ids
    assert len(list_ids - {c["list_id"] for c in campaigns}) == 1  # one list with no campaign
    assert {f["label"] for f in fields} >= {"Meeting status", "Host email", "Company size"}
    assert options["rate_limit"] == 5

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_the_command_refuses_a_rate_limit_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--rate-limit", "0"])

    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_the_command_reports_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        assert main(["--port", str(port)]) == 1

    assert f"Cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# ---- the pytest fixture ---------------------------------------------------------------


def test_the_fixture_points_the_plugin_at_the_emulator(snov_emulator: SnovEmulator) -> None:
    assert os.environ["FORTYTWOMIN_SNOV_API_BASE"] == snov_emulator.base_url
    assert httpx.get(f"{snov_emulator.base_url}/v1/get-balance").status_code == 401


def test_the_fixture_starts_with_a_high_rate_limit_and_a_frozen_clock(
    snov_emulator: SnovEmulator,
) -> None:
    frozen = snov_emulator.state.now()

    assert snov_emulator.state.options.rate_limit == 10_000
    assert snov_emulator.state.now() == frozen
    snov_emulator.clock.advance(30)
    assert snov_emulator.state.now() == frozen + 30


def test_the_fixture_gives_each_test_fresh_state_on_one_server(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import os

            seen = []

            def test_one_seeds(snov_emulator):
                seen.append(snov_emulator.base_url)
                credentials = snov_emulator.add_account("first")
                assert credentials.client_id == "first"
                snov_emulator.set_rate_limit(3)
                snov_emulator.configure(wrap_list_create_in_array=False)
                snov_emulator.state.fail_next(5)

            def test_two_starts_clean(snov_emulator):
                seen.append(snov_emulator.base_url)
                assert snov_emulator.state.accounts() == []
                assert snov_emulator.state.pending_faults() == []
                assert snov_emulator.state.requests() == []
                assert snov_emulator.state.options.rate_limit == 10_000
                assert snov_emulator.state.options.wrap_list_create_in_array is True
                assert seen[0] == seen[1]

            def test_three_without_the_fixture_sees_no_base_url():
                assert "FORTYTWOMIN_SNOV_API_BASE" not in os.environ
            """
        )
    )

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_importing_the_pytest_plugin_loads_no_server_library() -> None:
    probe = (
        "import sys, fortytwomin_snov.testing.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'starlette', 'uvicorn'}))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )

    assert loaded.stdout.strip() == "[]"

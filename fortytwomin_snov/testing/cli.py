"""``fortytwomin-snov emulator``: the Snov.io emulator in the foreground, for demos."""

from __future__ import annotations

import argparse
import sys

from fortytwomin_snov.snov.environment import BASE_URL_ENV

from .options import EmulatorOptions
from .state import EmulatorState


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fortytwomin-snov emulator",
        description="Serve a local Snov.io API emulator on 127.0.0.1 until interrupted.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: any free port)"
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive,
        default=60,
        metavar="N",
        help="requests per rolling minute per account (default: 60, as Snov.io)",
    )
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="create a demo account with lists, custom fields and campaigns",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .server import HOST, EmulatorServer
    except ImportError as error:
        print(
            f"The emulator needs the 'emulator' extra ({error.name} is missing): "
            "pip install 'fortytwomin-snov[emulator]'",
            file=sys.stderr,
        )
        return 2
    from .demo import seed_demo

    state = EmulatorState(EmulatorOptions(rate_limit=args.rate_limit))
    demo = seed_demo(state) if args.seed_demo else None
    server = EmulatorServer(state, port=args.port, log_level="info", access_log=True)

    def announce(base_url: str) -> None:
        print(f"Snov.io emulator listening on {base_url}")
        print(f"Point the plugin at it: {BASE_URL_ENV}={base_url}")
        print(f"Inspect it: {base_url}/_emulator/state")
        if demo is not None:
            print(f"Demo API user ID: {demo.client_id}")
            print(f"Demo API secret:  {demo.client_secret}")
        print("Press Ctrl+C to stop.", flush=True)

    try:
        server.serve(on_ready=announce)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"Cannot listen on {HOST}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


if __name__ == "__main__":
    raise SystemExit(main())

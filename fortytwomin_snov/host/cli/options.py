"""What most commands share: the database and integration options, opening the host,
reading a file or stdin, asking for a value, and the one-line error a user can cause."""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fortytwomin_snov.host.database import is_postgres_url
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.shared_store import STORE_ENV

DATABASE_ENV = "FORTYTWOMIN_SNOV_DB"

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects a document may have: events and settings need
a handful of levels; deeper is a mistake or an attack on the stack of whatever reads it."""

MAX_ID = 2**63 - 1
"""The largest row id SQLite holds: a larger job id cannot name a job."""

JOB_ID = click.IntRange(min=1, max=MAX_ID)


class TooDeep(ValueError):
    """A JSON document nested deeper than :data:`MAX_JSON_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects")


def load_json(text: str) -> Any:
    """``json.loads``, refusing documents nested deeper than :data:`MAX_JSON_DEPTH`
    (TooDeep); json.JSONDecodeError as json.loads raises it."""
    try:
        document = json.loads(text)
    except RecursionError:  # deeper than the parser's stack: far past the limit
        raise TooDeep from None
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise TooDeep
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return document


def json_kind(document: object) -> str:
    """How a JSON value's type is named in messages ("an array", "a string")."""
    if isinstance(document, dict):
        return "an object"
    if isinstance(document, list):
        return "an array"
    if isinstance(document, bool):
        return "a boolean"
    if isinstance(document, int | float):
        return "a number"
    if isinstance(document, str):
        return "a string"
    return "null"


class CommandFailed(click.ClickException):
    """A user-caused error: one line, then ``details`` (a document's problems, one a line)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


class DatabaseLocation(click.Path):
    """A SQLite file (a Path) or a ``postgresql://`` URL (a str)."""

    name = "PATH|URL"

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if is_postgres_url(value):
            return str(value)
        path = super().convert(value, param, ctx)
        # A mistyped folder would otherwise be created, and a new empty database with it.
        if isinstance(path, Path) and not path.parent.is_dir():
            raise CommandFailed(
                f"The folder of --db {path} does not exist: create it first, or choose another file"
            )
        return path


_STORE_META = "fortytwomin_snov.store"


def _remember_store(context: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        context.meta[_STORE_META] = value


def chosen_store() -> str | None:
    """The shared store ``--store`` (or ``$FORTYTWOMIN_SNOV_STORE``) chose; None: the database."""
    context = click.get_current_context(silent=True)
    return None if context is None else context.meta.get(_STORE_META)


def with_database(command: Any) -> Any:
    """``--db`` and ``--store``, for a command that opens the host's database."""
    command = click.option(
        "--store",
        metavar="database|URL",
        default=None,
        envvar=STORE_ENV,
        expose_value=False,
        callback=_remember_store,
        help=f"The plugins' shared store: 'database' (the default: in the host's database) or a"
        f" redis:// URL (default: ${STORE_ENV}).",
    )(command)
    return click.option(
        "--db",
        "database",
        type=DatabaseLocation(),
        default=None,
        envvar=DATABASE_ENV,
        help=f"The host's database: a SQLite file or a postgresql:// URL (default:"
        f" ${DATABASE_ENV}, else host.db in your user data directory).",
    )(command)


with_integration = click.option(
    "--integration",
    "integration",
    metavar="SLUG",
    default=None,
    help="The integration (default: the only one installed).",
)


def open_host(database: str | Path | None, integration: str | None) -> ReferenceHost:
    """The host on ``database`` (None: the default file) for ``integration`` (None: the only
    installed one), with the chosen shared store. An integration no installed plugin
    handles is refused at once."""
    host = ReferenceHost(database, integration=integration, store=chosen_store())
    try:
        host.manifest()  # resolves the default, and checks that the slug is installed
    except BaseException:
        host.close()
        raise
    return host


def read_text(source: str) -> tuple[str, str]:
    """The text of FILE, or of stdin for ``-``, and how to name it in messages."""
    try:
        if source == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig"), "stdin"
        return Path(source).read_bytes().decode("utf-8-sig"), source
    except OSError as error:
        raise CommandFailed(f"Cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandFailed(f"{source} is not UTF-8 text") from None


def json_problem(error: json.JSONDecodeError, *, one_line: bool = False) -> str:
    where = f"column {error.colno}" if one_line else f"line {error.lineno}, column {error.colno}"
    return f"not valid JSON ({error.msg} at {where})"


def ask(what: str, option: str, *, hidden: bool) -> str:
    """A value the user did not pass: asked for on a terminal (without echo when hidden),
    else read as one line from stdin, so that it can be piped in."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        return str(click.prompt(what, hide_input=hidden, err=True))
    line = stdin.readline() if stdin is not None else ""
    value = line.rstrip("\r\n")
    if not value:
        raise CommandFailed(f"No {what} given: pass {option}, or type it when asked")
    return value


def login_name() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "cli"
    return re.sub(r"[^!-~]", "_", name) or "cli"


def name_value(pair: str, option: str) -> tuple[str, str]:
    """``NAME=VALUE`` split at the first ``=``."""
    name, sep, value = pair.partition("=")
    if not sep or not name:
        raise CommandFailed(f"{option} takes NAME=VALUE, not {pair!r}")
    return name, value


def typed_value(text: str, spec: object) -> object:
    """A command-line value as the JSON type its schema asks for (text otherwise)."""
    kind = spec.get("type") if isinstance(spec, dict) else None
    kinds = kind if isinstance(kind, list) else [kind]
    if any(item in ("integer", "number", "boolean", "null") for item in kinds):
        try:
            return load_json(text)
        except ValueError:  # not JSON, or too deep
            return text  # the plugin says what is wrong with it
    return text

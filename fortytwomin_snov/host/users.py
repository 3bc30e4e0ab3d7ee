"""Who may use the admin pages: users with a role, and their one-time sign-in links.

A user is an email address (normalised to lower case) with a role:

- ``owner`` and ``admin``: read everything, connect, disconnect, save settings, run the
  settings actions, replay jobs;
- ``member``: read the status, the settings and the sync log, change nothing.

Nobody signs in with a password. ``fortytwomin-snov users login EMAIL`` (and ``serve``, for
an owner) prints a link holding a random token (:func:`issue_link`); opening it signs the
browser in (:func:`redeem_link`). The database keeps only the token's SHA-256 hash, so a
copy of the file cannot be used to sign in; a link works once, and for
:data:`LINK_LIFETIME` seconds.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlencode

from fortytwomin_snov.host.dialect import HostDatabase
from fortytwomin_snov.host.errors import HostError

Role = Literal["owner", "admin", "member"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member")
CHANGING_ROLES: frozenset[str] = frozenset({"owner", "admin"})
"""The roles that may change an integration (connect, disconnect, settings, replay)."""

LINK_LIFETIME = 15 * 60.0
"""Seconds a sign-in link may be used (once)."""
SIGN_IN_PATH = "/auth/sign-in"
DEFAULT_NEXT = "/integrations"
MAX_EMAIL_LENGTH = 254
MAX_NEXT_LENGTH = 2000
REFUSED = (
    "This sign-in link was used already, has expired or is not one: get a new one with"
    " `fortytwomin-snov users login EMAIL`"
)

# One "@", something printable and without spaces either side, a dot in the domain.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class UserError(HostError):
    """A user cannot be added, found or removed as asked: the message says why."""


class LinkRefused(HostError):
    """A sign-in link that is unknown, used already or expired."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    created_at: float

    @property
    def may_change(self) -> bool:
        """Whether this user may change an integration (owners and admins)."""
        return self.role in CHANGING_ROLES

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role}


def normalise_email(text: str) -> str:
    """``text`` as a user's email: trimmed, lower case; UserError if it is not one."""
    email = text.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not email.isprintable() or _EMAIL.fullmatch(email) is None:
        shown = email if len(email) <= 60 and email.isprintable() else email[:60] + "…"
        raise UserError(f"{shown!r} is not an email address")
    return email


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"A role is one of {', '.join(ROLES)}, not {role!r}")
    return role


def safe_next(path: str | None) -> str:
    """``path`` if it is a path of this site (``/…``), else UserError.

    Refused: anything with a scheme or a host (``http://…``, ``//evil``), backslashes
    (browsers read ``/\\evil`` as ``//evil``) and control characters.
    """
    if path is None or path == "":
        return DEFAULT_NEXT
    if (
        len(path) > MAX_NEXT_LENGTH
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or not path.isprintable()
        or any(character.isspace() for character in path)
    ):
        raise UserError("The page to open after signing in must be a path of this site (/…)")
    return path


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        email=str(row["email"]),
        role=cast("Role", row["role"]),
        created_at=float(row["created_at"]),
    )


def add_user(database: HostDatabase, email: str, role: str, *, now: float) -> User:
    """A new user; UserError if the email is not one, the role unknown, or the user exists."""
    address = normalise_email(email)
    wanted = check_role(role)
    with database.transaction() as tx:
        added = tx.execute(
            "INSERT INTO users (email, role, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (email) DO NOTHING RETURNING id",
            (address, wanted, now),
        ).fetchone()
        if added is None:
            existing = tx.execute("SELECT role FROM users WHERE email = ?", (address,)).fetchone()
            raise UserError(f"{address} is a user already (role {existing['role']})")
    return User(id=int(added["id"]), email=address, role=wanted, created_at=now)


def list_users(database: HostDatabase) -> list[User]:
    with database.read() as db:
        rows = db.execute("SELECT * FROM users ORDER BY id").fetchall()
    return [_user(row) for row in rows]


def find_user(database: HostDatabase, email: str) -> User:
    """The user with this email; UserError if there is none."""
    address = normalise_email(email)
    with database.read() as db:
        row = db.execute("SELECT * FROM users WHERE email = ?", (address,)).fetchone()
    if row is None:
        raise UserError(f"{address} is not a user: add them with `users add`")
    return _user(row)


def user_by_id(database: HostDatabase, user_id: int) -> User | None:
    """The user a session names, or None once they are removed."""
    with database.read() as db:
        row = db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else _user(row)


def first_owner(database: HostDatabase) -> User | None:
    with database.read() as db:
        row = db.execute("SELECT * FROM users WHERE role = 'owner' ORDER BY id LIMIT 1").fetchone()
    return None if row is None else _user(row)


def remove_user(database: HostDatabase, email: str) -> User:
    """Remove a user (their links go with them; their sessions stop working at once).
    UserError for an unknown user, or the last owner."""
    address = normalise_email(email)
    with database.transaction() as tx:
        row = tx.execute("SELECT * FROM users WHERE email = ?", (address,)).fetchone()
        if row is None:
            raise UserError(f"{address} is not a user")
        if row["role"] == "owner":
            # Locked on PostgreSQL, so that two owners removed at once cannot both pass.
            owners = len(
                tx.execute(
                    "SELECT id FROM users WHERE role = 'owner'"  # noqa: S608 - fixed text
                    + tx.dialect.for_update
                ).fetchall()
            )
            if owners <= 1:
                raise UserError(
                    f"{address} is the last owner: add another owner before removing them"
                )
        tx.execute("DELETE FROM sign_in_links WHERE user_id = ?", (row["id"],))
        tx.execute("DELETE FROM users WHERE id = ?", (row["id"],))
    return _user(row)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(
    database: HostDatabase,
    email: str,
    base_url: str,
    *,
    now: float,
    next_path: str | None = None,
) -> str:
    """A new one-time sign-in link for the user with ``email``, on the server at
    ``base_url``, opening ``next_path`` (default :data:`DEFAULT_NEXT`) once signed in."""
    user = find_user(database, email)
    target = safe_next(next_path)
    token = secrets.token_urlsafe(32)
    with database.transaction() as tx:
        # Links nobody used are dropped once they expire, so the table stays small.
        tx.execute("DELETE FROM sign_in_links WHERE expires_at <= ?", (now,))
        tx.execute(
            "INSERT INTO sign_in_links (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
            (_hash(token), user.id, now + LINK_LIFETIME),
        )
    query = {"token": token} if target == DEFAULT_NEXT else {"token": token, "next": target}
    return f"{base_url.rstrip('/')}{SIGN_IN_PATH}?{urlencode(query)}"


def redeem_link(database: HostDatabase, token: str, *, now: float) -> User:
    """The user a link signs in; the link is used up.

    LinkRefused for a token that is unknown, used already or expired (said the same way:
    the reason is no help to someone guessing).
    """
    if not token or len(token) > 200:
        raise LinkRefused(REFUSED)
    with database.transaction() as tx:
        row = tx.execute(
            "DELETE FROM sign_in_links WHERE token_hash = ? RETURNING user_id, expires_at",
            (_hash(token),),
        ).fetchone()
        user = (
            None
            if row is None
            else tx.execute("SELECT * FROM users WHERE id = ?", (row["user_id"],)).fetchone()
        )
    if row is None or user is None or float(row["expires_at"]) <= now:
        raise LinkRefused(REFUSED)
    return _user(user)

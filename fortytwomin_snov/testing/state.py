"""The emulated Snov.io accounts and everything in them, plus the emulator's own controls.

One :class:`EmulatorState` is shared by the HTTP server's thread and the test's thread: every
method takes the state's lock, and ``state.lock`` lets a caller make several calls atomic.
The facts Snov.io enforces whatever the endpoint (a prospect entering a list that an Active
campaign uses is enrolled in it) live here; the endpoints' rules live in ``api.py``.

It stays one module, over 500 lines, because every method works under the one lock on the
same workspaces: split apart, the pieces would reach into each other's private state.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import secrets
import string
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any

from .clock import Clock
from .options import EmulatorOptions
from .records import (
    FINAL_RECIPIENT_STATUSES,
    Account,
    Campaign,
    Credentials,
    CustomField,
    CustomFieldType,
    Enrolment,
    Fault,
    Prospect,
    ProspectFields,
    ProspectList,
    RecordedRequest,
)

_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_LENGTH = 40
_FIRST_LIST_ID = 1_000_001
_FIRST_CAMPAIGN_ID = 200_001


class NotFound(LookupError):
    """The account, list, campaign or prospect named does not exist."""


class AlreadyExists(ValueError):
    """An account with that API user ID, or a custom field with that label, exists already."""


@dataclass
class _Workspace:
    """One account and what it owns."""

    account: Account
    lists: dict[int, ProspectList] = field(default_factory=dict)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    prospects: dict[str, Prospect] = field(default_factory=dict)
    enrolments: list[Enrolment] = field(default_factory=list)
    recent_requests: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class _Token:
    client_id: str
    expires_at: float


class EmulatorState:
    """Accounts, lists, custom fields, campaigns, prospects, tokens, faults and the request log."""

    def __init__(self, options: EmulatorOptions | None = None, *, clock: Clock = time.time) -> None:
        self._lock = threading.RLock()
        self._initial_options = options or EmulatorOptions()
        self._initial_clock = clock
        self._options = self._initial_options
        self._clock = clock
        self._epoch = 0
        self._clear()

    def _clear(self) -> None:
        self._epoch += 1
        self._accounts: dict[str, _Workspace] = {}
        self._tokens: dict[str, _Token] = {}
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._list_ids = itertools.count(_FIRST_LIST_ID)
        self._campaign_ids = itertools.count(_FIRST_CAMPAIGN_ID)
        self._prospect_numbers = itertools.count(1)

    # ---- the emulator itself ---------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """Hold it to make several calls one atomic step (the server does, per request)."""
        return self._lock

    @property
    def options(self) -> EmulatorOptions:
        return self._options

    def configure(self, **changes: Any) -> EmulatorOptions:
        """Change options (validated); ``texts={...}`` changes only the texts named."""
        with self._lock:
            self._options = self._options.updated(changes)
            return self._options

    def now(self) -> float:
        return self._clock()

    @property
    def epoch(self) -> int:
        """Changes on every reset, so a request that outlived one can tell."""
        return self._epoch

    def reset(self, *, options: EmulatorOptions | None = None, clock: Clock | None = None) -> None:
        """Forget everything; options and clock go back to the given or the initial ones."""
        with self._lock:
            self._options = options or self._initial_options
            self._clock = clock or self._initial_clock
            self._clear()

    # ---- accounts and credentials ----------------------------------------------------

    def add_account(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        balance: str = "25000.00",
    ) -> Credentials:
        """Create an account; credentials not given are generated (32 hex characters each)."""
        client_id = client_id or secrets.token_hex(16)
        client_secret = client_secret or secrets.token_hex(16)
        with self._lock:
            if client_id in self._accounts:
                raise AlreadyExists(f"an account with API user ID {client_id!r} already exists")
            account = Account(client_id=client_id, client_secret=client_secret, balance=balance)
            self._accounts[client_id] = _Workspace(account=account)
        return Credentials(client_id=client_id, client_secret=client_secret)

    def account(self, client_id: str) -> Account:
        with self._lock:
            return self._workspace(client_id).account

    def accounts(self) -> list[Account]:
        with self._lock:
            return [workspace.account for workspace in self._accounts.values()]

    def revoke_credentials(self, client_id: str) -> None:
        """Refuse the account's credentials from now on and end every token it holds."""
        with self._lock:
            workspace = self._workspace(client_id)
            workspace.account = replace(workspace.account, revoked=True)
            for token in [t for t, held in self._tokens.items() if held.client_id == client_id]:
                del self._tokens[token]

    def restore_credentials(self, client_id: str) -> None:
        """Accept the account's credentials again (ended tokens stay ended)."""
        with self._lock:
            workspace = self._workspace(client_id)
            workspace.account = replace(workspace.account, revoked=False)

    def verify_credentials(self, client_id: str, client_secret: str) -> bool:
        with self._lock:
            workspace = self._accounts.get(client_id)
            if workspace is None or workspace.account.revoked:
                return False
            expected = workspace.account.client_secret.encode()
            return hmac.compare_digest(expected, client_secret.encode())

    # ---- tokens and the rate limit ---------------------------------------------------

    def issue_token(self, client_id: str) -> str:
        """A new 40-character alphanumeric token for the account, valid ``token_lifetime`` s."""
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))
        with self._lock:
            self._workspace(client_id)
            expires_at = self.now() + self._options.token_lifetime
            self._tokens[token] = _Token(client_id=client_id, expires_at=expires_at)
        return token

    def token_owner(self, token: str) -> str | None:
        """The account a live token belongs to; None if it is unknown, expired or revoked."""
        with self._lock:
            held = self._tokens.get(token)
            if held is None or self.now() >= held.expires_at:
                return None
            return held.client_id

    def expire_tokens(self, client_id: str | None = None) -> int:
        """End every live token now (only the account's, if named); returns how many."""
        with self._lock:
            if client_id is not None:
                self._workspace(client_id)
            now = self.now()
            expired = 0
            for token, held in self._tokens.items():
                if (client_id is None or held.client_id == client_id) and held.expires_at > now:
                    self._tokens[token] = replace(held, expires_at=now)
                    expired += 1
            return expired

    def admit(self, client_id: str) -> bool:
        """Count one request against the account's rolling window; False if it is full."""
        with self._lock:
            limit = self._options.rate_limit
            if limit is None:
                return True
            now = self.now()
            window_start = now - self._options.rate_window
            recent = self._workspace(client_id).recent_requests
            while recent and recent[0] <= window_start:
                recent.popleft()
            if len(recent) >= limit:
                return False
            recent.append(now)
            return True

    # ---- lists -----------------------------------------------------------------------

    def add_list(self, client_id: str, name: str, *, deleted: bool = False) -> ProspectList:
        with self._lock:
            workspace = self._workspace(client_id)
            now = self.now()
            created = ProspectList(
                id=next(self._list_ids),
                name=name,
                created_at=now,
                deleted_at=now if deleted else None,
            )
            workspace.lists[created.id] = created
            return created

    def delete_list(self, client_id: str, list_id: int) -> ProspectList:
        """Mark the list deleted; it stays visible with ``isDeleted: true``, as in Snov.io."""
        with self._lock:
            workspace = self._workspace(client_id)
            current = self._list(workspace, list_id)
            if current.deleted:
                return current
            deleted = replace(current, deleted_at=self.now())
            workspace.lists[list_id] = deleted
            return deleted

    def lists(self, client_id: str) -> list[ProspectList]:
        with self._lock:
            return list(self._workspace(client_id).lists.values())

    def find_list(self, client_id: str, list_id: int) -> ProspectList | None:
        with self._lock:
            return self._workspace(client_id).lists.get(list_id)

    def contacts(self, client_id: str) -> Counter[int]:
        """How many prospect profiles each list holds, by list id (0 for an empty list)."""
        with self._lock:
            return Counter(p.list_id for p in self._workspace(client_id).prospects.values())

    # ---- custom fields ---------------------------------------------------------------

    def add_custom_field(
        self,
        client_id: str,
        label: str,
        *,
        type: CustomFieldType = "string",
        required: bool = False,
    ) -> CustomField:
        with self._lock:
            workspace = self._workspace(client_id)
            if label in workspace.custom_fields:
                raise AlreadyExists(f"a custom field labelled {label!r} already exists")
            created = CustomField(label=label, type=type, required=required)
            workspace.custom_fields[label] = created
            return created

    def delete_custom_field(self, client_id: str, label: str) -> CustomField:
        """Delete a custom field, as an admin can in Snov.io's interface; values written
        to it stay on the prospects, but writes naming it are refused from now on."""
        with self._lock:
            workspace = self._workspace(client_id)
            if label not in workspace.custom_fields:
                raise NotFound(f"no custom field labelled {label!r} in account {client_id!r}")
            return workspace.custom_fields.pop(label)

    def custom_fields(self, client_id: str) -> list[CustomField]:
        with self._lock:
            return list(self._workspace(client_id).custom_fields.values())

    # ---- campaigns -------------------------------------------------------------------

    def add_campaign(
        self, client_id: str, name: str, list_id: int, *, status: str = "Active"
    ) -> Campaign:
        """A campaign on the list; an Active one enrols the prospects already in it."""
        with self._lock:
            workspace = self._workspace(client_id)
            self._list(workspace, list_id)
            now = self.now()
            campaign_id = next(self._campaign_ids)
            digest = hashlib.blake2b(f"campaign-{campaign_id}".encode(), digest_size=16)
            created = Campaign(
                id=campaign_id,
                name=name,
                list_id=list_id,
                status=status,
                created_at=now,
                updated_at=now,
                started_at=None if status.casefold() in {"draft", "new"} else now,
                hash=digest.hexdigest(),
            )
            workspace.campaigns[created.id] = created
            self._enrol_list(workspace, created)
            return created

    def set_campaign_status(self, client_id: str, campaign_id: int, status: str) -> Campaign:
        """Change a campaign's status; becoming Active enrols the prospects in its list."""
        with self._lock:
            workspace = self._workspace(client_id)
            current = workspace.campaigns.get(campaign_id)
            if current is None:
                raise NotFound(f"no campaign {campaign_id} in account {client_id!r}")
            now = self.now()
            changed = replace(current, status=status, updated_at=now)
            if changed.active and changed.started_at is None:
                changed = replace(changed, started_at=now)
            workspace.campaigns[campaign_id] = changed
            self._enrol_list(workspace, changed)
            return changed

    def campaigns(self, client_id: str) -> list[Campaign]:
        with self._lock:
            return list(self._workspace(client_id).campaigns.values())

    # ---- prospects -------------------------------------------------------------------

    def create_prospect(
        self, client_id: str, list_id: int, fields: ProspectFields | None = None
    ) -> Prospect:
        """A new profile in the list, whatever already exists; enrols it as campaigns require.

        This is the fact underneath ``add-prospect-to-list``; the endpoint's duplicate rules
        are in ``api.py``. Seed a prospect with it directly.
        """
        with self._lock:
            workspace = self._workspace(client_id)
            self._list(workspace, list_id)
            now = self.now()
            created = _with_fields(
                Prospect(id=self._next_prospect_id(), list_id=list_id, email=None, created_at=now),
                fields or {},
                now,
            )
            workspace.prospects[created.id] = created
            for campaign in workspace.campaigns.values():
                if campaign.list_id == list_id and campaign.active:
                    self._enrol(workspace, campaign, created)
            return created

    def update_prospect(self, client_id: str, prospect_id: str, fields: ProspectFields) -> Prospect:
        """Overwrite the fields given; links and custom fields are merged, not replaced."""
        with self._lock:
            workspace = self._workspace(client_id)
            current = workspace.prospects.get(prospect_id)
            if current is None:
                raise NotFound(f"no prospect {prospect_id!r} in account {client_id!r}")
            changed = _with_fields(current, fields, self.now())
            workspace.prospects[prospect_id] = changed
            return changed

    def prospects(
        self, client_id: str, *, email: str | None = None, list_id: int | None = None
    ) -> list[Prospect]:
        """Profiles oldest first, optionally only one email's (any case) or one list's."""
        wanted = email.casefold() if email is not None else None
        with self._lock:
            return [
                prospect
                for prospect in self._workspace(client_id).prospects.values()
                if (wanted is None or (prospect.email or "").casefold() == wanted)
                and (list_id is None or prospect.list_id == list_id)
            ]

    def prospect(self, client_id: str, prospect_id: str) -> Prospect | None:
        with self._lock:
            return self._workspace(client_id).prospects.get(prospect_id)

    def enrol(self, client_id: str, campaign_id: int, email: str) -> list[Enrolment]:
        """Put every profile of ``email`` into the campaign as an Active recipient (a person
        someone added to a campaign by hand, outside its list)."""
        with self._lock:
            workspace = self._workspace(client_id)
            campaign = workspace.campaigns.get(campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign {campaign_id} in account {client_id!r}")
            for prospect in self._profiles(workspace, email):
                self._enrol(workspace, campaign, prospect)
            return self._recipients(workspace, campaign_id, email)

    def set_recipient_status(
        self,
        client_id: str,
        campaign_id: int,
        email: str,
        status: str,
        *,
        newest_only: bool = False,
        unless_final: bool = False,
    ) -> list[Enrolment]:
        """Set ``email``'s status in the campaign (any status, Finished and Moved included,
        unless ``unless_final`` leaves those alone); the enrolments changed."""
        with self._lock:
            workspace = self._workspace(client_id)
            found = self._recipients(workspace, campaign_id, email)
            if unless_final:
                found = [item for item in found if item.status not in FINAL_RECIPIENT_STATUSES]
            if newest_only:
                found = found[-1:]
            changed = []
            for enrolment in found:
                index = workspace.enrolments.index(enrolment)
                workspace.enrolments[index] = dataclasses.replace(enrolment, status=status)
                changed.append(workspace.enrolments[index])
            return changed

    def recipient_statuses(self, client_id: str, campaign_id: int, email: str) -> list[str]:
        """``email``'s status in the campaign, one per enrolled profile, oldest first."""
        with self._lock:
            workspace = self._workspace(client_id)
            return [item.status for item in self._recipients(workspace, campaign_id, email)]

    def _profiles(self, workspace: _Workspace, email: str) -> list[Prospect]:
        wanted = email.casefold()
        return [p for p in workspace.prospects.values() if (p.email or "").casefold() == wanted]

    def _recipients(self, workspace: _Workspace, campaign_id: int, email: str) -> list[Enrolment]:
        profiles = {prospect.id for prospect in self._profiles(workspace, email)}
        return [
            enrolment
            for enrolment in workspace.enrolments
            if enrolment.campaign_id == campaign_id and enrolment.prospect_id in profiles
        ]

    def enrolments(self, client_id: str, *, prospect_id: str | None = None) -> list[Enrolment]:
        with self._lock:
            return [
                enrolment
                for enrolment in self._workspace(client_id).enrolments
                if prospect_id is None or enrolment.prospect_id == prospect_id
            ]

    # ---- faults ----------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer the next ``count`` API requests (to ``path`` if given) with ``status``."""
        if not 500 <= status <= 599:
            raise ValueError("a server error status is between 500 and 599")
        self.add_fault(Fault(kind="server_error", remaining=count, status=status, path=path))

    def drop_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Close the connection of the next ``count`` API requests mid-response."""
        self.add_fault(Fault(kind="drop", remaining=count, path=path))

    def delay_next(self, seconds: float, count: int = 1, *, path: str | None = None) -> None:
        """Hold the next ``count`` API requests ``seconds`` (real time) before answering."""
        self.add_fault(Fault(kind="delay", remaining=count, seconds=seconds, path=path))

    def add_fault(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("a fault applies to at least one request")
        if fault.seconds < 0:
            raise ValueError("a delay cannot be negative")
        with self._lock:
            self._faults.append(fault)

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault for a request to ``path``, used up by one."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.path is None or fault.path == path:
                    if fault.remaining > 1:
                        self._faults[index] = replace(fault, remaining=fault.remaining - 1)
                    else:
                        del self._faults[index]
                    return replace(fault, remaining=1)
            return None

    # ---- the request log -------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self, *, path: str | None = None) -> list[RecordedRequest]:
        """Every API request received, oldest first (only those to ``path``, if given)."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- inspection ------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the accounts hold, as JSON-ready data (secrets left out)."""
        with self._lock:
            return {
                "accounts": [_workspace_data(workspace) for workspace in self._accounts.values()],
                "pending_faults": [dataclasses.asdict(fault) for fault in self._faults],
                "options": self._options.model_dump(mode="json"),
            }

    # ---- internals -------------------------------------------------------------------

    def _workspace(self, client_id: str) -> _Workspace:
        workspace = self._accounts.get(client_id)
        if workspace is None:
            raise NotFound(f"no account with API user ID {client_id!r}")
        return workspace

    @staticmethod
    def _list(workspace: _Workspace, list_id: int) -> ProspectList:
        found = workspace.lists.get(list_id)
        if found is None:
            raise NotFound(f"no list {list_id} in account {workspace.account.client_id!r}")
        return found

    def _next_prospect_id(self) -> str:
        # Shaped like Snov.io's ids ("xusD3-T_K5IktGoaa8Jc8A=="), yet reproducible per reset.
        seed = f"prospect-{next(self._prospect_numbers)}".encode()
        return base64.urlsafe_b64encode(hashlib.blake2b(seed, digest_size=16).digest()).decode()

    def _enrol_list(self, workspace: _Workspace, campaign: Campaign) -> None:
        if not campaign.active:
            return
        for prospect in workspace.prospects.values():
            if prospect.list_id == campaign.list_id:
                self._enrol(workspace, campaign, prospect)

    def _enrol(self, workspace: _Workspace, campaign: Campaign, prospect: Prospect) -> None:
        for enrolment in workspace.enrolments:
            if enrolment.campaign_id == campaign.id and enrolment.prospect_id == prospect.id:
                return
        workspace.enrolments.append(
            Enrolment(
                campaign_id=campaign.id,
                prospect_id=prospect.id,
                email=prospect.email,
                enrolled_at=self.now(),
            )
        )


def _with_fields(prospect: Prospect, fields: ProspectFields, now: float) -> Prospect:
    changes: dict[str, Any] = {
        key: value
        for key, value in fields.items()
        if key not in {"phones", "social_links", "custom_fields"}
    }
    if "phones" in fields:
        changes["phones"] = tuple(fields["phones"])
    if "social_links" in fields:
        changes["social_links"] = {**prospect.social_links, **fields["social_links"]}
    if "custom_fields" in fields:
        changes["custom_fields"] = {**prospect.custom_fields, **fields["custom_fields"]}
    return replace(prospect, **changes, updated_at=now)


def _workspace_data(workspace: _Workspace) -> dict[str, Any]:
    account = dataclasses.asdict(workspace.account)
    del account["client_secret"]
    contacts = Counter(prospect.list_id for prospect in workspace.prospects.values())
    return {
        **account,
        "lists": [
            {**dataclasses.asdict(found), "deleted": found.deleted, "contacts": contacts[found.id]}
            for found in workspace.lists.values()
        ],
        "custom_fields": [dataclasses.asdict(found) for found in workspace.custom_fields.values()],
        "campaigns": [
            {**dataclasses.asdict(campaign), "active": campaign.active}
            for campaign in workspace.campaigns.values()
        ],
        "prospects": [
            {**dataclasses.asdict(prospect), "name": prospect.name}
            for prospect in workspace.prospects.values()
        ],
        "enrolments": [dataclasses.asdict(enrolment) for enrolment in workspace.enrolments],
    }

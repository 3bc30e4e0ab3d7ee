"""The Snov.io API as the emulator answers it, free of any HTTP framework.

:func:`answer` takes one parsed request and gives the reply Snov.io would: routing (a wrong
method on a known path is 403, an unknown path 404), the token endpoint, token lookup in
the four places Snov.io reads it from, the per-account rate limit, and each endpoint's
documented behaviour and quirks. The whole answer is computed under the state's lock, so
concurrent requests see each other's effects in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from .params import flag, integer, text
from .records import (
    FINAL_RECIPIENT_STATUSES,
    RECIPIENT_STATUSES,
    BodyEncoding,
    Campaign,
    Prospect,
    ProspectFields,
    ProspectList,
    TokenSource,
)
from .state import EmulatorState

TOKEN_PATH = "/v1/oauth/access_token"  # noqa: S105 - a path, not a secret
RECIPIENT_STATUS_PATH = "/v1/change-recipient-status"

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_TEXT_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "fullName": "full_name",
    "position": "position",
    "companyName": "company_name",
    "companySite": "company_site",
    "country": "country",
    "locality": "locality",
}
_MAX_PER_PAGE = 5000
_DEFAULT_PER_PAGE = 100


@dataclass(frozen=True)
class ApiCall:
    """One request to the Snov.io API, parsed."""

    method: str
    path: str
    query: dict[str, Any]
    body: Any
    encoding: BodyEncoding | None = None
    authorization: str | None = None
    """The ``Authorization`` header, if sent."""
    malformed: bool = False
    """The body claimed to be JSON and was not."""

    @property
    def params(self) -> dict[str, Any]:
        """Query and body parameters together; the body wins, as in PHP's ``$_REQUEST``."""
        merged = dict(self.query)
        if isinstance(self.body, dict):
            merged.update(self.body)
        return merged


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


@dataclass(frozen=True)
class Answer:
    reply: Reply
    client_id: str | None = None
    token_source: TokenSource | None = None


Handler = Callable[[EmulatorState, str, dict[str, Any]], Reply]

_UPDATED = Reply(200, {"success": True, "added": False, "updated": True})
"""Exactly one of added and updated is true; the live answer carries no id here."""


def answer(state: EmulatorState, call: ApiCall) -> Answer:
    with state.lock:
        return _answer(state, call)


def _answer(state: EmulatorState, call: ApiCall) -> Answer:
    texts = state.options.texts
    if call.path == TOKEN_PATH:
        if call.method != "POST":
            return Answer(_failure(403, texts.forbidden))
        return _issue_token(state, call)
    endpoint = ENDPOINTS.get(call.path)
    if endpoint is None:
        return Answer(_failure(404, texts.not_found))
    method, handler = endpoint
    if call.method != method:
        return Answer(_failure(403, texts.forbidden))
    token, source = _find_token(call)
    client_id = state.token_owner(token) if token else None
    if client_id is None:
        return Answer(_failure(401, texts.unauthorized), token_source=source)
    if not state.admit(client_id):
        return Answer(_failure(429, texts.rate_limited), client_id, source)
    if call.malformed:
        return Answer(_failure(400, texts.malformed_body), client_id, source)
    params = call.params
    if (
        call.path == RECIPIENT_STATUS_PATH
        and call.encoding == "json"
        and not state.options.recipient_status_accepts_json
    ):
        params = dict(call.query)  # a form-only endpoint reads a JSON body as empty
    return Answer(handler(state, client_id, params), client_id, source)


# ---- authentication -------------------------------------------------------------------


def _issue_token(state: EmulatorState, call: ApiCall) -> Answer:
    options = state.options
    if call.malformed:
        return Answer(_failure(400, options.texts.malformed_body))
    params = call.params
    if text(params.get("grant_type")) != "client_credentials":
        return Answer(
            Reply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": options.texts.unsupported_grant_type,
                },
            )
        )
    client_id = text(params.get("client_id"))
    client_secret = text(params.get("client_secret"))
    if not (client_id and client_secret and state.verify_credentials(client_id, client_secret)):
        return Answer(Reply(options.bad_credentials_status, options.bad_credentials_body))
    if not state.admit(client_id):
        return Answer(_failure(429, options.texts.rate_limited), client_id)
    token = state.issue_token(client_id)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": options.token_lifetime}
    return Answer(Reply(200, body), client_id)


def _find_token(call: ApiCall) -> tuple[str | None, TokenSource | None]:
    if call.authorization:
        scheme, _, value = call.authorization.strip().partition(" ")
        if scheme.casefold() == "bearer" and value.strip():
            return value.strip(), "header"
    from_query = text(call.query.get("access_token"))
    if from_query:
        return from_query, "query"
    if call.encoding is not None and isinstance(call.body, dict):
        from_body = text(call.body.get("access_token"))
        if from_body:
            return from_body, call.encoding
    return None, None


# ---- account and lists ----------------------------------------------------------------


def _get_balance(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    recipients = {enrolment.email for enrolment in state.enrolments(client_id)}
    data = {
        "balance": state.account(client_id).balance,
        "teamwork": False,
        "unique_recipients_used": len(recipients),
        "limit_resets_in": 29,
        "expires_in": 359,
    }
    return Reply(200, {"success": True, "data": data})


def _get_user_lists(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    contacts = state.contacts(client_id)
    return Reply(
        200,
        [
            {
                "id": found.id,
                "name": found.name,
                "contacts": contacts[found.id],
                "isDeleted": found.deleted,
                "creationDate": php_date(found.created_at),
                "deletionDate": None if found.deleted_at is None else php_date(found.deleted_at),
            }
            for found in state.lists(client_id)
        ],
    )


def _create_list(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    name = text(params.get("name"))
    if name is None:
        return _failure(422, state.options.texts.list_name_required)
    created = state.add_list(client_id, name)
    body = {"success": True, "data": {"id": created.id}}
    return Reply(200, [body] if state.options.wrap_list_create_in_array else body)


def _get_prospect_list(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    usable = _usable_list(state, client_id, params.get("listId"))
    if isinstance(usable, Reply):
        return usable
    members = state.prospects(client_id, list_id=usable.id)
    page = max(integer(params.get("page")) or 1, 1)
    per_page = min(max(integer(params.get("perPage")) or _DEFAULT_PER_PAGE, 1), _MAX_PER_PAGE)
    shown = members[(page - 1) * per_page : page * per_page]
    return Reply(
        200,
        {
            "success": True,
            "list": {
                "name": usable.name,
                "contacts": len(members),
                "creationDate": php_date(usable.created_at),
                "emailsCount": sum(1 for member in members if member.email),
            },
            "prospects": [
                {
                    "id": member.id,
                    "name": member.name,
                    "firstName": member.first_name,
                    "lastName": member.last_name,
                    "emails": [_email_json(member.email)] if member.email else [],
                }
                for member in shown
            ],
        },
    )


def _usable_list(state: EmulatorState, client_id: str, raw: Any) -> ProspectList | Reply:
    texts = state.options.texts
    if raw is None or raw == "":
        return _failure(422, texts.list_id_required)
    list_id = integer(raw)
    found = None if list_id is None else state.find_list(client_id, list_id)
    if found is None:
        return _failure(422, _fill(texts.list_not_found, list_id=str(raw)))
    if found.deleted:
        return _failure(422, _fill(texts.list_deleted, list_id=str(raw)))
    return found


# ---- prospects ------------------------------------------------------------------------


def _add_prospect_to_list(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    texts = state.options.texts
    update_contact = flag(params.get("updateContact"))
    create_duplicates = flag(params.get("createDuplicates"))
    if update_contact and create_duplicates:
        return _failure(422, texts.conflicting_flags)
    usable = _usable_list(state, client_id, params.get("listId"))
    if isinstance(usable, Reply):
        return usable
    fields = _prospect_fields(params)
    email = fields.get("email")
    if email is None and not fields.get("social_links"):
        return _failure(422, texts.email_required)
    if email is not None and not _EMAIL.fullmatch(email):
        return _failure(422, texts.invalid_email)
    known = {custom.label for custom in state.custom_fields(client_id)}
    unknown = [label for label in fields.get("custom_fields", {}) if label not in known]
    if unknown:
        labels = ", ".join(f"'{label}'" for label in unknown)
        return _failure(422, _fill(texts.unknown_custom_fields, labels=labels))

    if email is not None:
        in_list = state.prospects(client_id, email=email, list_id=usable.id)
        if in_list:
            if update_contact and state.options.update_contact_updates_same_list:
                state.update_prospect(client_id, in_list[0].id, fields)
                return _UPDATED
            return Reply(
                422, {"success": False, "added": False, "errors": texts.same_list_duplicate}
            )
        elsewhere = state.prospects(client_id, email=email)
        if elsewhere and not create_duplicates:
            # Snov.io overwrites the existing profile and leaves it in its own list.
            state.update_prospect(client_id, elsewhere[0].id, fields)
            return _UPDATED
    created = state.create_prospect(client_id, usable.id, fields)
    return Reply(200, {"success": True, "id": created.id, "added": True, "updated": False})


def _prospect_fields(params: Mapping[str, Any]) -> ProspectFields:
    fields: dict[str, Any] = {}
    email = text(params.get("email"))
    if email is not None:
        fields["email"] = email
    for snov_name, name in _TEXT_FIELDS.items():
        value = text(params.get(snov_name))
        if value is not None:
            fields[name] = value
    phones = _phones(params.get("phones"))
    if phones is not None:
        fields["phones"] = phones
    links = params.get("socialLinks")
    if isinstance(links, dict):
        fields["social_links"] = {
            str(network): link for network, raw in links.items() if (link := text(raw)) is not None
        }
    custom = params.get("customFields")
    if isinstance(custom, dict):
        fields["custom_fields"] = {str(label): value for label, value in custom.items()}
    return cast(ProspectFields, fields)


def _phones(raw: Any) -> list[str] | None:
    if isinstance(raw, dict):
        # PHP turns phones[0]=…&phones[1]=… into a keyed array.
        raw = list(raw.values())
    if isinstance(raw, list):
        return [phone for item in raw if (phone := text(item)) is not None]
    single = text(raw)
    return None if single is None else [single]


def _get_prospects_by_email(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    email = text(params.get("email")) or ""
    matches = state.prospects(client_id, email=email) if email else []
    if not matches:
        not_found = _fill(state.options.texts.prospect_email_not_found, email=email)
        return Reply(200, {"success": False, "errors": not_found})
    return Reply(
        200, {"success": True, "data": [_prospect_json(state, client_id, p) for p in matches]}
    )


def _get_prospect_by_id(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    prospect_id = text(params.get("id")) or ""
    found = state.prospect(client_id, prospect_id) if prospect_id else None
    if found is None:
        not_found = _fill(state.options.texts.prospect_id_not_found, id=prospect_id)
        return Reply(200, {"success": False, "errors": not_found})
    return Reply(200, {"success": True, "data": _prospect_json(state, client_id, found)})


def _prospect_json(state: EmulatorState, client_id: str, prospect: Prospect) -> dict[str, Any]:
    in_list = state.find_list(client_id, prospect.list_id)
    campaigns = {campaign.id: campaign for campaign in state.campaigns(client_id)}
    enrolled = [
        (campaigns[enrolment.campaign_id], enrolment.status)
        for enrolment in state.enrolments(client_id, prospect_id=prospect.id)
    ]
    job = {
        "companyName": prospect.company_name or None,
        "position": prospect.position or None,
        "site": prospect.company_site or None,
    }
    return {
        "id": prospect.id,
        "name": prospect.name,
        "firstName": prospect.first_name,
        "lastName": prospect.last_name,
        "industry": None,
        "country": prospect.country or None,
        "locality": prospect.locality or None,
        "social": [
            {"link": link, "type": network} for network, link in prospect.social_links.items()
        ],
        "lastUpdateDate": php_date(prospect.updated_at),
        "currentJob": [job] if any(job.values()) else [],
        "previousJob": [],
        "lists": [] if in_list is None else [{"id": in_list.id, "name": in_list.name}],
        "campaigns": [
            _enrolled_campaign_json(campaign, prospect, status) for campaign, status in enrolled
        ],
    }


def _enrolled_campaign_json(campaign: Campaign, prospect: Prospect, status: str) -> dict[str, Any]:
    # Observed live: {id, name, campaign_status, recipients:[{email, recipient_status, sent,
    # reply}]}; sent and reply are strings once something happened, null before.
    return {
        "id": campaign.id,
        "name": campaign.name,
        "campaign_status": campaign.status,
        "recipients": [
            {"email": prospect.email, "recipient_status": status, "sent": None, "reply": None}
        ],
    }


def _email_json(email: str) -> dict[str, Any]:
    return {
        "email": email,
        "probability": 100,
        "isVerified": None,
        "jobStatus": "any",
        "domainType": "linkedin_email",
        "isValidFormat": None,
        "isDisposable": None,
        "isWebmail": None,
        "isGibberish": None,
        "smtpStatus": None,
    }


# ---- custom fields and campaigns ------------------------------------------------------


def _get_custom_fields(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    return Reply(
        200,
        [
            {
                "key": f"customFields['{custom.label}']",
                "label": custom.label,
                "required": custom.required,
                "type": custom.type,
            }
            for custom in state.custom_fields(client_id)
        ],
    )


def _get_user_campaigns(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    return Reply(
        200,
        [
            {
                "id": campaign.id,
                "campaign": campaign.name,
                "list_id": campaign.list_id,
                "status": campaign.status,
                "created_at": int(campaign.created_at),
                "updated_at": int(campaign.updated_at),
                "started_at": None if campaign.started_at is None else int(campaign.started_at),
                "hash": campaign.hash,
            }
            for campaign in state.campaigns(client_id)
        ],
    )


# ---- shared pieces --------------------------------------------------------------------


def _change_recipient_status(state: EmulatorState, client_id: str, params: dict[str, Any]) -> Reply:
    texts, options = state.options.texts, state.options
    email, campaign_id, status = (
        text(params.get("email")),
        integer(params.get("campaign_id")),
        text(params.get("status")),
    )
    if not email or campaign_id is None or not status:
        return _failure(options.recipient_error_status, texts.recipient_params_required)
    if status not in RECIPIENT_STATUSES:
        return _failure(options.recipient_error_status, texts.recipient_status_invalid)
    if all(campaign.id != campaign_id for campaign in state.campaigns(client_id)):
        failure = _fill(texts.campaign_not_found, campaign_id=str(campaign_id))
        return _failure(options.recipient_error_status, failure)
    current = state.recipient_statuses(client_id, campaign_id, email)
    if not current:
        failure = _fill(texts.recipient_not_found, email=email)
        return _failure(options.recipient_error_status, failure)
    final = [found for found in current if found in FINAL_RECIPIENT_STATUSES]
    if len(final) == len(current):
        failure = _fill(texts.recipient_status_final, status=final[-1])
        return _failure(options.recipient_error_status, failure)
    state.set_recipient_status(
        client_id,
        campaign_id,
        email,
        status,
        newest_only=not options.recipient_status_all_profiles,
        unless_final=True,
    )
    return Reply(200, {"success": True})


ENDPOINTS: Mapping[str, tuple[str, Handler]] = {
    "/v1/get-balance": ("GET", _get_balance),
    "/v1/get-user-lists": ("GET", _get_user_lists),
    "/v1/lists": ("POST", _create_list),
    "/v1/add-prospect-to-list": ("POST", _add_prospect_to_list),
    "/v1/get-prospects-by-email": ("POST", _get_prospects_by_email),
    "/v1/get-prospect-by-id": ("POST", _get_prospect_by_id),
    "/v1/prospect-list": ("POST", _get_prospect_list),
    "/v1/prospect-custom-fields": ("GET", _get_custom_fields),
    "/v1/get-user-campaigns": ("GET", _get_user_campaigns),
    RECIPIENT_STATUS_PATH: ("POST", _change_recipient_status),
}
"""Every emulated path (besides the token endpoint) with its one allowed method."""


def php_date(timestamp: float) -> dict[str, Any]:
    """A timestamp the way Snov.io's v1 endpoints serialise a PHP DateTime."""
    moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return {
        "date": moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "timezone_type": 3,
        "timezone": "UTC",
    }


def _failure(status: int, errors: str) -> Reply:
    return Reply(status, {"success": False, "errors": errors})


class _KeepUnknown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, **values: str) -> str:
    """Fill the placeholders a configured text uses; leave any it does not know alone."""
    return template.format_map(_KeepUnknown(values))

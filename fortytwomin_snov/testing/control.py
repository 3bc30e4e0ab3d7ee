"""The emulator's control API: JSON endpoints under ``/_emulator/`` mirroring the state's methods.

For tools that cannot reach the Python object (a demo, another process). Every answer is
JSON; a bad body is 400, an unknown account, list or campaign 404, a duplicate 409.

==========================================================  ====================================
``POST /reset``                                             forget everything
``GET /state``                                              accounts, lists, prospects, enrolments
``GET`` / ``PATCH /options``                                read / change :class:`EmulatorOptions`
``POST /accounts`` {client_id?, client_secret?, balance?}   -> {client_id, client_secret}
``POST /accounts/{id}/revoke`` and ``/restore``             refuse / accept its credentials
``POST /tokens/expire`` {client_id?}                        -> {expired: n}
``POST /accounts/{id}/lists`` {name, deleted?}              seed a list
``DELETE /accounts/{id}/lists/{list_id}``                   delete a list
``POST /accounts/{id}/custom-fields`` {label, type?, ...}   seed a custom field
``DELETE /accounts/{id}/custom-fields/{label}``             delete a custom field
``POST /accounts/{id}/campaigns`` {name, list_id, status?}  seed a campaign (Active by default)
``POST /accounts/{id}/campaigns/{cid}/status`` {status}     change a campaign's status
``POST /accounts/{id}/prospects`` {list_id, fields}         seed a profile (``ProspectFields``)
``POST /faults`` {kind, count?, status?, seconds?, path?}   fail, drop or delay the next requests
``GET`` / ``DELETE /faults``                                pending faults / clear them
``GET /requests`` [?path=] and ``DELETE /requests``         the request log / clear it
==========================================================  ====================================
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .records import CustomFieldType, Fault, FaultKind, ProspectFields
from .state import AlreadyExists, EmulatorState, NotFound

PREFIX = "/_emulator"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _NewAccount(_Body):
    client_id: str | None = None
    client_secret: str | None = None
    balance: str = "25000.00"


class _NewList(_Body):
    name: str = Field(min_length=1)
    deleted: bool = False


class _NewCustomField(_Body):
    label: str = Field(min_length=1)
    type: CustomFieldType = "string"
    required: bool = False


class _NewCampaign(_Body):
    name: str = Field(min_length=1)
    list_id: int
    status: str = "Active"


class _CampaignStatus(_Body):
    status: str = Field(min_length=1)


class _NewProspect(_Body):
    list_id: int
    fields: dict[str, Any] = Field(default_factory=dict)


class _ExpireTokens(_Body):
    client_id: str | None = None


class _NewFault(_Body):
    kind: FaultKind
    count: int = Field(default=1, ge=1)
    status: int = Field(default=500, ge=500, le=599)
    seconds: float = Field(default=0.0, ge=0)
    path: str | None = None


_PROSPECT_FIELDS = TypeAdapter(ProspectFields)

Endpoint = Callable[[Request], Awaitable[Response]]


def control_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes, to mount under :data:`PREFIX`."""

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def snapshot(request: Request) -> Response:
        return JSONResponse(state.snapshot())

    async def get_options(request: Request) -> Response:
        return JSONResponse(state.options.model_dump(mode="json"))

    async def change_options(request: Request) -> Response:
        changed = state.configure(**await _object(request))
        return JSONResponse(changed.model_dump(mode="json"))

    async def add_account(request: Request) -> Response:
        body = _NewAccount.model_validate(await _object(request))
        credentials = state.add_account(body.client_id, body.client_secret, balance=body.balance)
        return JSONResponse(
            {"client_id": credentials.client_id, "client_secret": credentials.client_secret},
            status_code=201,
        )

    async def revoke(request: Request) -> Response:
        state.revoke_credentials(request.path_params["client_id"])
        return JSONResponse({"revoked": True})

    async def restore(request: Request) -> Response:
        state.restore_credentials(request.path_params["client_id"])
        return JSONResponse({"revoked": False})

    async def expire_tokens(request: Request) -> Response:
        body = _ExpireTokens.model_validate(await _object(request))
        return JSONResponse({"expired": state.expire_tokens(body.client_id)})

    async def add_list(request: Request) -> Response:
        body = _NewList.model_validate(await _object(request))
        created = state.add_list(request.path_params["client_id"], body.name, deleted=body.deleted)
        return JSONResponse(_data(created), status_code=201)

    async def delete_list(request: Request) -> Response:
        params = request.path_params
        return JSONResponse(_data(state.delete_list(params["client_id"], params["list_id"])))

    async def delete_custom_field(request: Request) -> Response:
        params = request.path_params
        return JSONResponse(_data(state.delete_custom_field(params["client_id"], params["label"])))

    async def add_custom_field(request: Request) -> Response:
        body = _NewCustomField.model_validate(await _object(request))
        created = state.add_custom_field(
            request.path_params["client_id"], body.label, type=body.type, required=body.required
        )
        return JSONResponse(_data(created), status_code=201)

    async def add_campaign(request: Request) -> Response:
        body = _NewCampaign.model_validate(await _object(request))
        created = state.add_campaign(
            request.path_params["client_id"], body.name, body.list_id, status=body.status
        )
        return JSONResponse(_data(created), status_code=201)

    async def set_campaign_status(request: Request) -> Response:
        body = _CampaignStatus.model_validate(await _object(request))
        params = request.path_params
        changed = state.set_campaign_status(params["client_id"], params["campaign_id"], body.status)
        return JSONResponse(_data(changed))

    async def add_prospect(request: Request) -> Response:
        body = _NewProspect.model_validate(await _object(request))
        unknown = set(body.fields) - set(ProspectFields.__annotations__)
        if unknown:
            raise ValueError(f"unknown prospect fields: {', '.join(sorted(unknown))}")
        fields = _PROSPECT_FIELDS.validate_python(body.fields)
        created = state.create_prospect(request.path_params["client_id"], body.list_id, fields)
        return JSONResponse(_data(created), status_code=201)

    async def add_fault(request: Request) -> Response:
        body = _NewFault.model_validate(await _object(request))
        fault = Fault(
            kind=body.kind,
            remaining=body.count,
            status=body.status,
            seconds=body.seconds,
            path=body.path,
        )
        state.add_fault(fault)
        return JSONResponse(_data(fault), status_code=201)

    async def pending_faults(request: Request) -> Response:
        return JSONResponse([_data(fault) for fault in state.pending_faults()])

    async def clear_faults(request: Request) -> Response:
        state.clear_faults()
        return JSONResponse([])

    async def requests(request: Request) -> Response:
        path = request.query_params.get("path")
        return JSONResponse([_data(received) for received in state.requests(path=path)])

    async def clear_requests(request: Request) -> Response:
        state.clear_requests()
        return JSONResponse([])

    account = "/accounts/{client_id}"
    routes: list[tuple[str, str, Endpoint]] = [
        ("POST", "/reset", reset),
        ("GET", "/state", snapshot),
        ("GET", "/options", get_options),
        ("PATCH", "/options", change_options),
        ("POST", "/accounts", add_account),
        ("POST", f"{account}/revoke", revoke),
        ("POST", f"{account}/restore", restore),
        ("POST", "/tokens/expire", expire_tokens),
        ("POST", f"{account}/lists", add_list),
        ("DELETE", f"{account}/lists/{{list_id:int}}", delete_list),
        ("POST", f"{account}/custom-fields", add_custom_field),
        ("DELETE", f"{account}/custom-fields/{{label}}", delete_custom_field),
        ("POST", f"{account}/campaigns", add_campaign),
        ("POST", f"{account}/campaigns/{{campaign_id:int}}/status", set_campaign_status),
        ("POST", f"{account}/prospects", add_prospect),
        ("POST", "/faults", add_fault),
        ("GET", "/faults", pending_faults),
        ("DELETE", "/faults", clear_faults),
        ("GET", "/requests", requests),
        ("DELETE", "/requests", clear_requests),
    ]
    return [Route(path, _guarded(endpoint), methods=[method]) for method, path, endpoint in routes]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Turn the state's and the validators' exceptions into JSON errors."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ValidationError as error:
            return JSONResponse(
                {"error": "invalid request", "detail": error.errors(include_url=False)},
                status_code=400,
            )
        except NotFound as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except AlreadyExists as error:
            return JSONResponse({"error": str(error)}, status_code=409)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    return guarded


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError as error:
        raise ValueError("the body is not JSON") from error
    if not isinstance(decoded, dict):
        raise ValueError("the body must be a JSON object")
    return decoded


def _data(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    for computed in ("deleted", "active", "name"):
        if isinstance(getattr(type(record), computed, None), property):
            data[computed] = getattr(record, computed)
    return data

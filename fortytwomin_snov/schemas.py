"""The published schemas (``schema/*.json``), the models that mirror them, and validation
errors read to an admin with the plugin's own pattern hints.

``tests/test_models.py`` walks every schema of :data:`CONTRACT_TYPES` beside its model
and fails when they drift apart.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from fortytwomin_snov.contract import models as contract_models
from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.contract.models import Event, Manifest, Outcome
from fortytwomin_snov.credentials import Connection, CredentialCheck, Credentials
from fortytwomin_snov.outcomes import SyncOutcome
from fortytwomin_snov.settings.model import (
    SOURCE_PATTERN,
    STANDARD_FIELDS,
    TARGET_PATTERN,
    Settings,
)

CONTRACT_TYPES: Mapping[str, Any] = MappingProxyType(
    {
        "credentials.schema.json": Credentials,
        "connection.schema.json": Connection,
        "manifest.schema.json": Manifest,
        "credential-check.schema.json": CredentialCheck,
        "settings.schema.json": Settings,
        "booking-event.schema.json": Event,
        "sync-outcome.schema.json": SyncOutcome,
        "outcome.schema.json": Outcome,
    }
)
"""Each published schema file and the type that mirrors it."""

SCHEMA_NAMES: tuple[str, ...] = tuple(CONTRACT_TYPES)
_SCHEMA_SUFFIX = ".schema.json"


@functools.cache
def _schema_text(file_name: str) -> str:
    return (
        importlib.resources.files("fortytwomin_snov.schema")
        .joinpath(file_name)
        .read_text(encoding="utf-8")
    )


def load_schema(name: str) -> dict[str, Any]:
    """A published schema, by file name (``settings.schema.json``) or short name (``settings``).

    The file is read once; each call returns a fresh copy the caller may change.
    """
    file_name = name if name.endswith(_SCHEMA_SUFFIX) else name + _SCHEMA_SUFFIX
    if file_name not in CONTRACT_TYPES:
        raise ValueError(f"No schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}.")
    schema: dict[str, Any] = json.loads(_schema_text(file_name))
    return copy.deepcopy(schema)


PATTERN_HINTS: Mapping[str, str] = MappingProxyType(
    {
        **contract_models.PATTERN_HINTS,
        SOURCE_PATTERN: (
            "Use person.email, person.name, person.phone, invitee_form_question:<id> or "
            "routing_form_field:<id> (an id is 1-100 letters, digits, '_', '.' or '-')."
        ),
        TARGET_PATTERN: (
            "Use prospect.<field> with a standard field ("
            + ", ".join(STANDARD_FIELDS)
            + ") or prospect.cf_<custom field label>."
        ),
    }
)
"""Readable messages for every pattern the plugin's documents use."""


def field_errors(exc: ValidationError) -> list[FieldError]:
    """:func:`~fortytwomin_snov.contract.models.field_errors` with the plugin's pattern hints."""
    return contract_models.field_errors(exc, PATTERN_HINTS)


def describe_field_errors(exc: ValidationError) -> str:
    """Every problem of a validation error on one line, with the plugin's pattern hints."""
    return contract_models.describe_field_errors(exc, PATTERN_HINTS)

"""The contract's published JSON Schemas, read from the package data.

The schemas ship in ``fortytwomin_snov.schema`` (the repository's ``schema/`` folder); a
host reads them as resources, so loading one never imports a plugin's code.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from typing import Any

SCHEMA_PACKAGE = "fortytwomin_snov.schema"
SCHEMA_SUFFIX = ".schema.json"

CONTRACT_SCHEMAS = frozenset({"booking-event", "manifest", "outcome"})
"""The schemas that belong to the contract itself rather than to one integration."""


@functools.cache
def _schema_text(file_name: str) -> str:
    return importlib.resources.files(SCHEMA_PACKAGE).joinpath(file_name).read_text(encoding="utf-8")


def load_contract_schema(name: str) -> dict[str, Any]:
    """A contract schema by short name (``booking-event``) or file name; a fresh copy the
    caller may change."""
    short = name.removesuffix(SCHEMA_SUFFIX)
    if short not in CONTRACT_SCHEMAS:
        known = ", ".join(sorted(CONTRACT_SCHEMAS))
        raise ValueError(f"No contract schema named {name!r}; known: {known}.")
    schema: dict[str, Any] = json.loads(_schema_text(short + SCHEMA_SUFFIX))
    return copy.deepcopy(schema)

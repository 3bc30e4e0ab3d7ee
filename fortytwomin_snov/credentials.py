"""The Snov.io keys and what the plugin makes of them: the connect form's credentials, the
connection record the host stores, and the answer of a credential check.

Each model mirrors a published schema (``credentials``, ``connection``,
``credential-check``; see :data:`fortytwomin_snov.schemas.CONTRACT_TYPES`). The API secret
is a :class:`~pydantic.SecretStr`: masked in ``repr``, ``str`` and dumps unless
``to_json(reveal_secret=True)`` asks for it, and kept out of validation error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from fortytwomin_snov.contract.models import (
    IDENTIFIER_PATTERN,
    ContractModel,
    DateTime,
    Identifier,
    Text,
)


def _visible_ascii(secret: SecretStr) -> SecretStr:
    if re.fullmatch(IDENTIFIER_PATTERN, secret.get_secret_value()) is None:
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": IDENTIFIER_PATTERN},
        )
    return secret


def _dump_secret(secret: SecretStr, info: SerializationInfo) -> str:
    context = info.context if isinstance(info.context, Mapping) else {}
    return secret.get_secret_value() if context.get("reveal_secret") else str(secret)


ApiSecret = Annotated[
    SecretStr,
    Field(min_length=1, max_length=200),
    AfterValidator(_visible_ascii),
    PlainSerializer(_dump_secret, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "writeOnly": True,
            "minLength": 1,
            "maxLength": 200,
            "pattern": IDENTIFIER_PATTERN,
        }
    ),
]
"""The Snov.io API secret: masked unless a dump asks for ``reveal_secret``."""


_SECRET_SAFE = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)


class Credentials(ContractModel):
    """The keys an admin pastes to connect: ``schema/credentials.schema.json``."""

    model_config = _SECRET_SAFE

    api_user_id: Identifier = Field(
        description="The API user ID from Snov.io's Account settings, API page."
    )
    api_secret: ApiSecret = Field(
        description="The API secret from the same page. Write-only: never shown again."
    )


class Connection(ContractModel):
    """The record the host stores after ``connect``: ``schema/connection.schema.json``."""

    model_config = _SECRET_SAFE

    integration: Literal["snov"] = Field(description="The integration slug.")
    api_user_id: Identifier = Field(description="The Snov.io API user ID.")
    api_secret: ApiSecret = Field(description="The Snov.io API secret. Write-only.")
    connected_at: DateTime = Field(description="When the connection was made (RFC 3339).")
    connected_by: Identifier = Field(description="The id of the owner or admin who connected.")

    @property
    def credentials(self) -> Credentials:
        """The keys this connection was made with."""
        return Credentials(api_user_id=self.api_user_id, api_secret=self.api_secret)


class CredentialAccount(ContractModel):
    """What the credential check learned about the Snov.io account."""

    balance: str = Field(description="The account's credit balance, as Snov.io reports it.")
    teamwork: bool = Field(description="Whether the account belongs to a team.")


class CredentialCheck(ContractModel):
    """The answer of ``validate_credentials``: ``schema/credential-check.schema.json``."""

    ok: bool = Field(description="Whether Snov.io accepted the keys.")
    message: Text = Field(description="What happened, in words an admin can act on.")
    account: CredentialAccount | None = Field(
        description="The account the keys belong to when ok is true; null otherwise."
    )

    @field_validator("account")
    @classmethod
    def _account_follows_ok(
        cls, account: CredentialAccount | None, info: ValidationInfo
    ) -> CredentialAccount | None:
        ok = info.data.get("ok")
        if ok is True and account is None:
            raise ValueError("A successful check must describe the account.")
        if ok is False and account is not None:
            raise ValueError("A failed check has no account: use null.")
        return account

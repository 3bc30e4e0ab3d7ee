"""The one mapping from a Snov.io response to data or to an error."""

from __future__ import annotations

import httpx
import pytest
from pydantic import TypeAdapter

from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    CustomFieldNotFound,
    ListNotFound,
    RateLimited,
    SnovRejected,
    SnovServerError,
    SnovUnreachable,
)
from fortytwomin_snov.snov.models import ProspectList
from fortytwomin_snov.snov.responses import (
    CREDENTIALS_REJECTED,
    RequestNotSent,
    custom_field_labels_in,
    parse_reply,
    raise_for_response,
    snov_error_text,
    transport_error,
)

ADD = httpx.Request("POST", "https://api.snov.io/v1/add-prospect-to-list")


def reply(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=ADD, **kwargs)  # type: ignore[arg-type]


# ---- Snov.io's error text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"success": False, "errors": "Invalid email format"}, "Invalid email format"),
        (
            {"errors": {"email": ["Invalid email"], "listId": "Required"}},
            "email: Invalid email; listId: Required",
        ),
        ({"errors": ["First problem", "Second problem"]}, "First problem; Second problem"),
        ({"errors": {"0": "Numbered problem"}}, "Numbered problem"),
        ({"message": "Sorry, you ran out of credits"}, "Sorry, you ran out of credits"),
        ({"errors": "", "message": "Fallback message"}, "Fallback message"),
        (
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            "Client authentication failed",
        ),
        ([{"success": False, "errors": "Wrapped in an array"}], "Wrapped in an array"),
        ("A bare JSON string", "A bare JSON string"),
        ({"success": False}, None),
        ([{"id": 1}, {"id": 2}], None),
        (None, None),
    ],
)
def test_error_text_is_read_from_errors_or_message(body: object, text: str | None) -> None:
    assert snov_error_text(body) == text


def test_error_text_is_bounded() -> None:
    text = snov_error_text({"errors": "x" * 5000})
    assert text is not None
    assert len(text) <= 500


def test_error_text_never_carries_a_broken_character() -> None:
    # JSON may spell half an emoji ("\ud83d"); the outcome's message must stay sendable.
    text = snov_error_text({"errors": "Refused: \ud83d"})
    assert text == "Refused: ?"
    text.encode("utf-8")


# ---- statuses ----------------------------------------------------------------------------


def test_401_is_rejected_credentials_whatever_the_body_says() -> None:
    with pytest.raises(CredentialsRejected) as caught:
        raise_for_response(reply(401, json={"success": False, "errors": "Unauthorized"}))
    assert str(caught.value) == CREDENTIALS_REJECTED
    assert caught.value.status_code == 401


def test_429_is_rate_limited_with_the_given_retry_after() -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_response(reply(429, text=""), retry_after=7.5)
    assert caught.value.retry_after == 7.5
    assert caught.value.status_code == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_server_error(status: int) -> None:
    with pytest.raises(SnovServerError) as caught:
        raise_for_response(reply(status, text="<html>Bad gateway</html>"))
    assert caught.value.status_code == status
    assert "html" not in str(caught.value).lower()


def test_403_says_it_is_likely_a_wrong_method_or_a_plan_restriction() -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(403, text="<html><body>Forbidden</body></html>"))
    message = str(caught.value)
    assert "wrong method or path" in message
    assert "plan" in message
    assert "POST /v1/add-prospect-to-list" in message
    assert caught.value.status_code == 403


def test_404_is_rejected() -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(404, text=""))
    assert caught.value.status_code == 404
    assert "HTTP 404" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "errors": "Invalid email format"},
        {"success": False, "errors": {"email": "Invalid email format"}},
        {"success": False, "errors": ["Invalid email format"]},
        {"success": False, "message": "Invalid email format"},
    ],
)
def test_422_is_rejected_with_snov_text_in_any_of_its_shapes(body: object) -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(422, json=body), list_id=5)
    assert "Invalid email format" in caught.value.snov_message
    assert "Invalid email format" in str(caught.value)
    assert caught.value.status_code == 422


def test_400_with_plain_text_keeps_the_text() -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(400, text="Emails list is empty"))
    assert caught.value.snov_message == "Emails list is empty"


def test_200_with_success_false_is_rejected() -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(200, json={"success": False, "errors": "Something is off"}))
    assert caught.value.status_code == 200
    assert caught.value.snov_message == "Something is off"


def test_200_with_success_false_inside_an_array_is_rejected() -> None:
    with pytest.raises(SnovRejected, match="Name is taken"):
        raise_for_response(reply(200, json=[{"success": False, "errors": "Name is taken"}]))


def test_200_returns_the_decoded_body() -> None:
    body = [{"id": 1, "name": "A"}]
    assert raise_for_response(reply(200, json=body)) == body


@pytest.mark.parametrize("content", [b"", b"<html>oops</html>", b"{not json", b"\xff\xfe\x00"])
def test_200_without_json_is_a_server_error(content: bytes) -> None:
    with pytest.raises(SnovServerError, match="without a JSON body"):
        raise_for_response(reply(200, content=content))


def test_unexpected_redirect_is_a_server_error() -> None:
    with pytest.raises(SnovServerError, match="unexpected HTTP 302"):
        raise_for_response(reply(302, headers={"location": "https://snov.io/login"}))


# ---- missing lists and custom fields -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "List not found",
        "list does not exist",
        "The list has been deleted",
        "Prospect list with id 123 doesn't exist",
        "Invalid listId",
        "No such list",
        "Cannot find list",
    ],
)
def test_list_gone_texts_become_list_not_found(text: str) -> None:
    with pytest.raises(ListNotFound) as caught:
        raise_for_response(reply(422, json={"success": False, "errors": text}), list_id=123)
    assert caught.value.list_id == 123
    assert caught.value.status_code == 422
    assert text in str(caught.value)


def test_list_texts_are_only_recognised_when_the_request_named_a_list() -> None:
    with pytest.raises(SnovRejected):
        raise_for_response(reply(422, json={"success": False, "errors": "List not found"}))


@pytest.mark.parametrize(
    "text",
    [
        "Prospect with same email already exists in your list",
        "listId is required",
        "Emails list is empty",
    ],
)
def test_other_texts_mentioning_a_list_stay_plain_rejections(text: str) -> None:
    with pytest.raises(SnovRejected) as caught:
        raise_for_response(reply(422, json={"success": False, "errors": text}), list_id=123)
    assert caught.value.snov_message == text


@pytest.mark.parametrize(
    ("text", "written", "labels"),
    [
        ("Custom fields not found: Meeting status, Source", [], ["Meeting status", "Source"]),
        ("Custom field 'Meeting status' not found", [], ["Meeting status"]),
        ("customFields['Статус зустрічі'] does not exist", [], ["Статус зустрічі"]),
        ("Custom fields [Meeting status] not found", [], ["Meeting status"]),
        (
            "Custom field 'Client's stage' not found",
            ["Client's stage", "Other"],
            ["Client's stage"],
        ),
        ("Custom fields not found", ["Meeting status", "Source"], ["Meeting status", "Source"]),
        ("Unknown custom field", [], []),
    ],
)
def test_missing_custom_fields_are_named(text: str, written: list[str], labels: list[str]) -> None:
    with pytest.raises(CustomFieldNotFound) as caught:
        raise_for_response(
            reply(422, json={"success": False, "errors": text}),
            list_id=9,
            custom_field_labels=written,
        )
    assert caught.value.labels == labels
    assert caught.value.status_code == 422
    for label in labels:
        assert label in str(caught.value)


def test_custom_field_labels_parse_from_a_colon_list() -> None:
    assert custom_field_labels_in("Custom fields not found: A; B.") == ["A", "B"]


def test_invalid_custom_field_value_is_not_a_missing_field() -> None:
    with pytest.raises(SnovRejected):
        raise_for_response(
            reply(422, json={"success": False, "errors": "Custom field 'Age' must be a number"}),
            custom_field_labels=["Age"],
        )


# ---- shapes and transport ---------------------------------------------------------------


def test_a_reply_of_the_wrong_shape_is_a_server_error_not_a_pydantic_error() -> None:
    with pytest.raises(SnovServerError) as caught:
        parse_reply(
            TypeAdapter(list[ProspectList]),
            {"success": True, "data": []},
            where="GET /v1/get-user-lists",
            status_code=200,
        )
    assert "GET /v1/get-user-lists" in str(caught.value)
    assert "shape" in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), RequestNotSent, "connect"),
        (httpx.ConnectTimeout("timed out"), RequestNotSent, "connect"),
        (httpx.PoolTimeout("timed out"), RequestNotSent, "connect"),
        (httpx.ReadTimeout("timed out"), SnovUnreachable, "in time"),
        (httpx.WriteTimeout("timed out"), SnovUnreachable, "in time"),
        (httpx.RemoteProtocolError("Server disconnected"), SnovUnreachable, "connection"),
        (httpx.ReadError("reset"), SnovUnreachable, "connection"),
        (httpx.DecodingError("bad gzip"), SnovServerError, "could not be read"),
    ],
)
def test_transport_errors_are_mapped(
    exc: httpx.HTTPError, kind: type[Exception], words: str
) -> None:
    error = transport_error(exc, where="GET /v1/get-balance")
    assert type(error) is kind
    assert words in str(error)
    assert type(exc).__name__ in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Custom fields 'Deal status' not found", ["Deal status"]),
        ("Custom fields 'Status', 'Deal status' not found", ["Status", "Deal status"]),
        ("Custom field Status not found", ["Status"]),
    ],
)
def test_a_label_inside_a_longer_label_is_named_only_when_it_stands_alone(
    text: str, expected: list[str]
) -> None:
    from fortytwomin_snov.snov.responses import custom_field_labels_in

    assert sorted(custom_field_labels_in(text, ["Status", "Deal status"])) == sorted(expected)

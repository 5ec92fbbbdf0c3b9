"""Fortnox error bodies, whatever their casing, become the right branch of the error tree."""

from __future__ import annotations

import pytest

from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.errors import (
    FortnoxPermanent,
    FortnoxRateLimited,
    FortnoxUnauthorized,
    from_response,
    parse_error_body,
)


@pytest.mark.parametrize(
    "body",
    [
        b'{"ErrorInformation": {"error": 1, "message": "Kontot hittades inte", "code": 2001304}}',
        b'{"errorInformation": {"Error": 1, "Message": "Kontot hittades inte", "Code": "2001304"}}',
    ],
)
def test_error_body_is_parsed_case_insensitively(body: bytes) -> None:
    assert parse_error_body(body) == ("2001304", "Kontot hittades inte")


def test_unknown_account_is_permanent_with_code_and_hint() -> None:
    err = from_response(400, b'{"ErrorInformation": {"message": "Konto 3999 finns inte", "code": 2001304}}',
                        "create order")
    assert isinstance(err, FortnoxPermanent) and isinstance(err, PermanentError)
    assert err.code == "2001304"
    assert "Konto 3999 finns inte" in err.reason and "account map" in err.reason


def test_429_is_transient_and_backs_off_a_window() -> None:
    err = from_response(429, b"", "create order")
    assert isinstance(err, FortnoxRateLimited) and isinstance(err, TransientError)
    assert err.delay == 5.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(status: int) -> None:
    assert isinstance(from_response(status, b"<html>oops</html>", "x"), TransientError)


def test_system_exception_code_is_transient_even_on_400() -> None:
    assert isinstance(from_response(400, b'{"ErrorInformation": {"code": 1000003, "message": "x"}}', "x"),
                      TransientError)


def test_401_is_unauthorized() -> None:
    assert isinstance(from_response(401, b'{"message": "unauthorized"}', "x"), FortnoxUnauthorized)


def test_missing_scope_names_the_fix() -> None:
    err = from_response(403, b'{"ErrorInformation": {"code": 2000663, "message": "Har inte behorighet"}}', "x")
    assert isinstance(err, PermanentError) and "scope" in str(err)

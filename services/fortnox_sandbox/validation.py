"""Request and response bodies checked against Fortnox's OpenAPI document (openapi/openapi.json).

Requests: an unknown field is Fortnox's 2001399 (Fortnox developer docs,
https://www.fortnox.se/developer/guides-and-good-to-know/errors), a wrong type its 2000108 /
2000134, anything else 2000588. Responses (when `validate_responses` is on): the first mismatch, so
the contract tests fail on it. The document's own known gaps (where it disagrees with Fortnox's
developer docs and answers) are patched on load, each listed in `GAPS` and in docs/sandbox.md.
"""

from __future__ import annotations

import copy
import functools
import json
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.validators import Draft7Validator, extend
from referencing import Registry
from referencing.jsonschema import DRAFT7

from services.fortnox_sandbox import errors
from services.fortnox_sandbox.bodycheck import check_body
from services.fortnox_sandbox.errors import FortnoxError

__all__ = ["GAPS", "SchemaValidator", "openapi_document"]

_URN = "urn:fortnox-openapi"
# Fields the document types as strings that Fortnox accepts as numbers on the way in (quantities).
_QUANTITIES = ("DeliveredQuantity", "OrderedQuantity", "Quantity", "ReservedQuantity")
GAPS: tuple[str, ...] = (
    "row quantities (DeliveredQuantity, OrderedQuantity, Quantity) are typed string; Fortnox sends strings "
    "and accepts numbers too, so requests may carry either",
    "fortnox_Voucher requires Year; Fortnox derives it from TransactionDate (or ?financialyear=), so it is optional",
    "PUT bodies are partial updates: `required` is not enforced on PUT",
    "MetaInformation is missing from most list schemas; lists carry it (schemas allow extra keys)",
    "fortnox_ErrorInformationWrap spells Error/Message/Code; Fortnox answers error/message/code "
    "(Fortnox's errors page)",
)


@functools.cache
def openapi_document() -> dict[str, Any]:
    text = resources.files("services.fortnox_sandbox").joinpath("openapi/openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def _patched_components() -> dict[str, Any]:
    # Cached: the validators only read it.
    components: dict[str, Any] = copy.deepcopy(openapi_document()["components"])
    for name, schema in components["schemas"].items():
        props = schema.get("properties", {})
        if name.endswith("Row"):
            for field in _QUANTITIES:
                if props.get(field, {}).get("type") == "string":
                    props[field] = {"type": ["string", "number"]}
        if name == "fortnox_Voucher" and "Year" in schema.get("required", []):
            schema["required"] = [r for r in schema["required"] if r != "Year"]
    return components


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


def _numeric_text(instance: Any) -> Decimal | None:
    if isinstance(instance, str):
        try:
            return Decimal(instance)
        except ArithmeticError:
            return None
    return None


def _lenient_number(checker: Any, instance: Any) -> bool:
    # Fortnox (Jackson underneath) reads "99.50" as the number 99.50; woonox may send Decimal as text.
    return Draft7Validator.TYPE_CHECKER.is_type(instance, "number") or _numeric_text(instance) is not None


def _lenient_integer(checker: Any, instance: Any) -> bool:
    text = _numeric_text(instance)
    return _is_integer(checker, instance) or (text is not None and text == text.to_integral_value())


_STRICT = Draft7Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_Response = extend(Draft7Validator, type_checker=_STRICT)
_Request = extend(Draft7Validator, type_checker=_STRICT.redefine_many(
    {"integer": _lenient_integer, "number": _lenient_number}))


class SchemaValidator:
    def __init__(self) -> None:
        self.components = _patched_components()
        root = {"components": self.components}
        self.registry: Registry[Any] = Registry().with_resource(_URN, DRAFT7.create_resource(root))
        self._validators: dict[tuple[str, bool], Any] = {}

    def validator(self, name: str, *, request: bool = False) -> Any:
        found = self._validators.get((name, request))
        if found is None:
            kind = _Request if request else _Response
            found = self._validators[(name, request)] = kind({"$ref": f"{_URN}#/components/schemas/{name}"},
                                                             registry=self.registry)
        return found

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _unknown_field(self, schema: dict[str, Any], value: Any, where: str) -> str | None:
        schema = self._resolve(schema)
        if isinstance(value, dict) and "properties" in schema:
            known = schema["properties"]
            for key, inner in value.items():
                if key not in known:
                    return f"{where}{key}"
                found = self._unknown_field(known[key], inner, f"{where}{key}.")
                if found:
                    return found
        elif isinstance(value, list) and "items" in schema:
            for item in value:
                found = self._unknown_field(schema["items"], item, where)
                if found:
                    return found
        return None

    def check_request(self, name: str, body: Any, *, partial: bool = False) -> None:
        """Fortnox's verdict on a request body (raises FortnoxError); `partial` for PUT (no `required`).

        Unknown fields anywhere in the body come first (2001399), then the first bad value."""
        unknown = self._unknown_field(self.components["schemas"][name], body, "")
        if unknown:
            raise FortnoxError(400, f"Ogiltigt fältnamn: {unknown}", errors.UNKNOWN_FIELD)
        check_body(self.components["schemas"], self.components["schemas"][name], body, partial=partial)

    def check_request_slowly(self, name: str, body: Any, *, partial: bool = False) -> None:
        """The same verdict through jsonschema: the reference the fast check is tested against."""
        unknown = self._unknown_field(self.components["schemas"][name], body, "")
        if unknown:
            raise FortnoxError(400, f"Ogiltigt fältnamn: {unknown}", errors.UNKNOWN_FIELD)
        for error in self.validator(name, request=True).iter_errors(body):
            if partial and error.validator == "required":
                continue
            raise FortnoxError(400, _message(error), _code(error))

    def problem(self, name: str, body: Any) -> str | None:
        error = jsonschema.exceptions.best_match(self.validator(name).iter_errors(body))
        return None if error is None else f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"


def _message(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "body"
    return f"Ogiltigt värde i {where}: {error.message}"


def _code(error: Any) -> int:
    if error.validator == "type":
        wanted = error.validator_value
        if wanted in ("number", "integer"):
            return errors.NOT_NUMERIC
        if wanted == "boolean":
            return errors.NOT_BOOLEAN
    return errors.BAD_PARAMETER

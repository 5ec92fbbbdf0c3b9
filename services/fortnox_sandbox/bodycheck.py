"""A fast check of a request body against one openapi.json schema: the keywords the document uses
(type, properties, required, enum, min/maxLength, minimum/maximum, pattern, items, min/maxItems, $ref)
in one walk, with Fortnox's error codes. It replaces jsonschema on the request hot path: same verdicts
(tests/unit/sandbox/test_bodycheck.py compares them), a fraction of the CPU (docs/sandbox.md).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from services.fortnox_sandbox import errors
from services.fortnox_sandbox.errors import FortnoxError

__all__ = ["check_body"]


@lru_cache(maxsize=64)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _number(value: Any) -> Decimal | None:
    """Numbers as Fortnox reads them: JSON numbers, or text such as "99.50" (Jackson coerces it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _type_ok(kind: Any, value: Any) -> bool:
    if isinstance(kind, list):
        return any(_type_ok(k, value) for k in kind)
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return _number(value) is not None
    if kind == "integer":
        number = _number(value)
        return number is not None and number.is_finite() and number == number.to_integral_value()
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _fail(where: str, message: str, code: int = errors.BAD_PARAMETER) -> FortnoxError:
    return FortnoxError(400, f"Ogiltigt värde i {where or 'body'}: {message}", code)


def check_body(schemas: dict[str, Any], schema: dict[str, Any], value: Any, *, partial: bool, where: str = "") -> None:
    """Raise Fortnox's error for the first problem of `value`; unknown fields first, as Fortnox does (2001399)."""
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    kind = schema.get("type")
    if kind is not None and not _type_ok(kind, value):
        code = errors.NOT_NUMERIC if kind in ("number", "integer") else \
            errors.NOT_BOOLEAN if kind == "boolean" else errors.BAD_PARAMETER
        raise _fail(where, f"{value!r} är inte av typen {kind}", code)
    if "enum" in schema and value not in schema["enum"]:
        raise _fail(where, f"{value!r} är inte ett av {schema['enum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise _fail(where, f"högst {schema['maxLength']} tecken")
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise _fail(where, f"minst {schema['minLength']} tecken")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise _fail(where, f"matchar inte {schema['pattern']}")
    if ("minimum" in schema or "maximum" in schema) and not isinstance(value, bool | str):
        number = _number(value)
        if number is not None and "minimum" in schema and number < Decimal(str(schema["minimum"])):
            raise _fail(where, f"minst {schema['minimum']}")
        if number is not None and "maximum" in schema and number > Decimal(str(schema["maximum"])):
            raise _fail(where, f"högst {schema['maximum']}")
    if isinstance(value, dict) and "properties" in schema:
        known = schema["properties"]
        for key in value:
            if key not in known:
                raise FortnoxError(400, f"Ogiltigt fältnamn: {where}{key}", errors.UNKNOWN_FIELD)
        if not partial:
            for key in schema.get("required", ()):
                if key not in value:
                    raise _fail(where, f"{key} saknas")
        for key, inner in value.items():
            check_body(schemas, known[key], inner, partial=partial, where=f"{where}{key}.")
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise _fail(where, f"högst {schema['maxItems']} element")
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise _fail(where, f"minst {schema['minItems']} element")
        if "items" in schema:
            for item in value:
                check_body(schemas, schema["items"], item, partial=partial, where=where)

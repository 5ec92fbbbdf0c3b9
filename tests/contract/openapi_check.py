"""Checking sandbox traffic against Fortnox's OpenAPI document: the copy packaged with the sandbox,
which tests/contract/test_sandbox_contract.py proves to be Fortnox's published one, byte for byte.

Independent of the sandbox's own validator: the schema of each call is looked up by path and method
in the document itself, and on top of the schema every field the sandbox *sends* must be declared
there (the document allows extra keys, so plain validation would not notice an invented field).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator

# Where the sandbox deliberately differs from the document; each with its reason (docs/sandbox.md).
RESPONSE_DEVIATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("PUT", "/3/orders/{}/createinvoice"): (
        "fortnox_Order_Wrap", "Fortnox answers createinvoice with the order and its InvoiceReference "
        "(the document says Invoice_Wrap)"),
    ("PUT", "/3/offers/{}/createinvoice"): ("fortnox_Offer_Wrap", "as orders: the offer with InvoiceReference"),
}
# Fields every list answer carries although most list schemas omit them (Fortnox developer docs,
# https://www.fortnox.se/developer/guides-and-good-to-know/parameters: MetaInformation).
UNDECLARED_OK = {"MetaInformation"}


def _shape(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


class OpenApi:
    def __init__(self) -> None:
        document = resources.files("services.fortnox_sandbox").joinpath("openapi/openapi.json")
        self.doc: dict[str, Any] = json.loads(document.read_text(encoding="utf-8"))
        self.schemas: dict[str, Any] = self.doc["components"]["schemas"]
        self.paths = {_shape(p): ops for p, ops in self.doc["paths"].items()}

    def operation(self, method: str, template: str) -> dict[str, Any]:
        op: dict[str, Any] = self.paths[_shape(template)][method.lower()]
        return op

    def request_schema(self, method: str, template: str) -> str | None:
        body = self.operation(method, template).get("requestBody")
        return body["content"]["*/*"]["schema"]["$ref"].rsplit("/", 1)[-1] if body else None

    def response_schema(self, method: str, template: str, status: int) -> str | None:
        deviation = RESPONSE_DEVIATIONS.get((method, _shape(template)))
        if deviation and status < 300:
            return deviation[0]
        responses = self.operation(method, template)["responses"]
        answer = responses.get(str(status)) or (responses.get("default") if status >= 400 else None)
        if answer is None:
            raise AssertionError(f"{method} {template}: status {status} is not in the document ({list(responses)})")
        content = answer.get("content")
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1] if content else None

    def problems(self, schema_name: str, body: Any, *, partial: bool = False) -> list[str]:
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": self.doc["components"]}
        found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                 for e in Draft7Validator(schema).iter_errors(body) if not _gap(e, partial)]
        found += [f"{p}: not declared in {schema_name}" for p in self._undeclared(self.schemas[schema_name], body, "")]
        return found

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _undeclared(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        schema = self._resolve(schema)
        out: list[str] = []
        if isinstance(value, dict) and "properties" in schema:
            for key, inner in value.items():
                if key not in schema["properties"]:
                    if key not in UNDECLARED_OK:
                        out.append(where + key)
                else:
                    out += self._undeclared(schema["properties"][key], inner, f"{where}{key}.")
        elif isinstance(value, list) and "items" in schema:
            for item in value:
                out += self._undeclared(schema["items"], item, where)
        return out


def _gap(error: Any, partial: bool) -> bool:
    """The document's own known gaps (validation.GAPS, docs/sandbox.md): a PUT body is a partial update."""
    return partial and error.validator == "required"

"""Lists as Fortnox serves them: text filters, `lastmodified`, paging and MetaInformation.

Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/parameters:
`?limit=` (max 500, default 100) and `?page=`; text filters are
case-insensitive substring matches (a search for "12" also finds "112"); `lastmodified`
(YYYY-MM-DD HH:MM) returns what changed since; only one resource filter per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.fortnox_sandbox.errors import BAD_PARAMETER, bad_request
from services.fortnox_sandbox.state import Company, Resource

__all__ = ["Filter", "listing", "page_of"]

Filter = Callable[[Resource, str], bool]
PAGING = frozenset({"limit", "page", "offset", "sortby", "sortorder", "lastmodified", "financialyear",
                    "financialyeardate"})


def substring(field: str) -> Filter:
    def check(resource: Resource, wanted: str) -> bool:
        value = resource.get(field)
        return value is not None and wanted.lower() in str(value).lower()

    return check


def exact(field: str) -> Filter:
    def check(resource: Resource, wanted: str) -> bool:
        return str(resource.get(field, "")).lower() == wanted.lower()

    return check


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Ogiltig parameter: {name}", BAD_PARAMETER) from None
    if not low <= value <= high:
        raise bad_request(f"Ogiltig parameter: {name}", BAD_PARAMETER)
    return value


def _since(raw: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise bad_request("Ogiltig parameter: lastmodified", BAD_PARAMETER)


def page_of(items: list[Any], query: Mapping[str, str]) -> tuple[list[Any], dict[str, int]]:
    limit = _int(query, "limit", 100, 1, 500)
    page = _int(query, "page", 1, 1, 1_000_000)
    total = len(items)
    pages = max(1, -(-total // limit))
    start = (page - 1) * limit
    meta = {"@TotalResources": total, "@TotalPages": pages, "@CurrentPage": page}
    return items[start : start + limit], meta


def listing(company: Company, kind: str, query: Mapping[str, str], filters: Mapping[str, Filter],
            *, extra: Callable[[Resource], bool] | None = None) -> tuple[list[Resource], dict[str, int]]:
    """The resources of `kind` a list call selects, in number order, one page of them, and MetaInformation."""
    unknown = [name for name in query if name not in filters and name not in PAGING and name != "filter"]
    if unknown:
        raise bad_request(f"Ogiltig parameter: {unknown[0]}", BAD_PARAMETER)
    chosen = [(filters[name], value) for name, value in query.items() if name in filters]
    if len(chosen) > 1:
        # Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/parameters:
        # only one resource filter per call (lastmodified aside).
        raise bad_request("Endast ett sökfilter per anrop", BAD_PARAMETER)
    since = _since(query["lastmodified"]) if query.get("lastmodified") else None
    modified = company.modified.get(kind, {})
    found: list[tuple[str, Resource]] = []
    for key, resource in company.table(kind).items():
        if since is not None and modified.get(key, since) < since:
            continue
        if extra is not None and not extra(resource):
            continue
        if all(check(resource, value) for check, value in chosen):
            found.append((key, resource))
    return page_of([resource for _, resource in _ordered(found)], query)


def _ordered(items: Iterable[tuple[str, Resource]]) -> list[tuple[str, Resource]]:
    # Numbers sort as numbers (Fortnox lists documents by number), other keys as text.
    return sorted(items, key=lambda kv: (0, int(kv[0]), "") if kv[0].isdigit() else (1, 0, kv[0]))

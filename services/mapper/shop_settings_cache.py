"""Each tenant's ShopSettings, read from the store of record and kept for a few seconds.

Mapping is CPU-bound and every order needs its shop's settings; a PostgreSQL round trip per
message would dominate (docs/benchmarks.md). A settings change applies within the
TTL. An unknown tenant or settings that do not validate are permanent errors (dead letter with the
reason): waiting will not fix them, a human will.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings

__all__ = ["ShopSettingsCache", "parse_shop_settings"]

Loader = Callable[[str], Awaitable[dict[str, Any]]]


def parse_shop_settings(raw: dict[str, Any], *, source: str) -> ShopSettings:
    try:
        return ShopSettings.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise PermanentError(f"invalid shop settings ({source}): {problems}", code="invalid-settings") from None


class ShopSettingsCache:
    def __init__(self, load: Loader, ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ShopSettings]] = {}

    async def get(self, tenant: str) -> ShopSettings:
        entry = self._entries.get(tenant)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        settings = parse_shop_settings(await self._load(tenant), source=f"tenant {tenant}")
        self._entries[tenant] = (time.monotonic() + self._ttl, settings)
        return settings

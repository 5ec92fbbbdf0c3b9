"""Outbound HTTP to addresses an operator typed in (shop URLs, Fortnox URLs): no SSRF.

Two checks, both needed:
- `check_url`, when a URL is stored: https only, no userinfo, query or fragment, no IP literal in a
  private range. Hosts on `WOONOX_ALLOW_HTTP_HOSTS` (the sandbox, the emulator, tests) are exempt.
- `GuardedBackend`, at connect time: the host is resolved once, every address is checked, and the
  connection goes to the address that was checked. A name that resolves to 169.254.169.254 (or
  rebinds to it between the check and the connect, "DNS rebinding") is refused, because the check
  and the connect use the same resolved address. TLS still verifies the certificate against the
  name (httpcore sends SNI for the URL's host, not the address).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = ["ALLOW_ENV", "BlockedAddress", "GuardedBackend", "allowed_hosts", "blocked", "check_url",
           "guarded_client", "guarded_transport"]

ALLOW_ENV = "WOONOX_ALLOW_HTTP_HOSTS"
ip_address = ipaddress.ip_address


class BlockedAddress(httpx.ConnectError):
    """A connect refused because the host resolved to an internal address. A `TransportError`, so
    callers that translate transport errors keep doing so; the message says why."""


def allowed_hosts(raw: str | None = None) -> frozenset[str]:
    """Hosts (lower-case names or addresses, no port) that may use http and internal addresses.
    Read from the environment on each call so a test or `woonox demo` can set it for its children."""
    value = os.environ.get(ALLOW_ENV, "") if raw is None else raw
    return frozenset(h.strip().lower().strip("[]") for h in value.split(",") if h.strip())


def blocked(address: str) -> bool:
    """True for anything but a public unicast address: private, loopback, link-local (the cloud
    metadata service 169.254.169.254), unspecified, multicast, reserved, shared (100.64/10)."""
    ip = ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_multicast or not ip.is_global


def _literal(host: str) -> str | None:
    """The address a host names if it is an IP literal in any form `inet_aton` accepts
    (`0x7f000001`, `2130706433`, `127.1`), else None."""
    try:
        return str(ip_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def check_url(value: str, *, allow: Iterable[str] | None = None) -> str:
    """`value` without a trailing slash, or ValueError saying what is wrong with it."""
    allowed = frozenset(allow) if allow is not None else allowed_hosts()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("must be an https URL with a host, e.g. https://shop.example.com")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not carry a user name or password (give API keys separately)")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query (?) or fragment (#)")
    if port == 0:
        raise ValueError("port 0 is not a port")
    if host in allowed:
        return value.rstrip("/")
    if parts.scheme != "https":
        raise ValueError(f"must use https ({host} is not on {ALLOW_ENV})")
    literal = _literal(host)
    if literal is not None and blocked(literal):
        raise ValueError(f"{host} is an internal address ({literal}); only public hosts may be used")
    return value.rstrip("/")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the connect-time address check (see the module docstring)."""

    def __init__(self, allow: Iterable[str] | None = None) -> None:
        self._allow = frozenset(allow) if allow is not None else None
        self._inner = httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore API)
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        allow = self._allow if self._allow is not None else allowed_hosts()
        if host.lower().strip("[]") in allow:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        bad = [a for a in addresses if blocked(a)]
        if bad or not addresses:
            # Any internal answer refuses the host: picking a good one among bad ones would let a
            # round-robin rebinding answer win on another attempt.
            raise BlockedAddress(f"{host} resolves to an internal address ({', '.join(bad) or 'none'}); "
                                 f"only public hosts may be reached (or add it to {ALLOW_ENV})")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise httpcore.ConnectError(f"cannot connect to {host}: {last}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable from tenant URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # httpx builds its pool without a way to pass a network backend: rebuild it with ours,
        # keeping the TLS context and limits httpx worked out.
        pool = self._pool
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=pool._ssl_context, max_connections=pool._max_connections,
            max_keepalive_connections=pool._max_keepalive_connections,
            keepalive_expiry=pool._keepalive_expiry, http1=pool._http1, http2=pool._http2,
            retries=pool._retries, network_backend=GuardedBackend(allow),
        )


def guarded_transport(allow: Iterable[str] | None = None, *,
                      limits: httpx.Limits | None = None) -> httpx.AsyncBaseTransport:
    return _GuardedTransport(allow, **({"limits": limits} if limits is not None else {}))


def guarded_client(*, timeout: float | httpx.Timeout | None = 30.0, allow: Iterable[str] | None = None,
                   limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """An httpx client for tenant-supplied URLs (shop, Fortnox API and token URLs, webhook delivery
    URLs a shop reports). `trust_env=False`: an environment proxy would be the address checked
    instead of the shop. `limits` go to the guarded transport (a client's own `limits` are ignored
    once a transport is given)."""
    return httpx.AsyncClient(timeout=timeout, transport=guarded_transport(allow, limits=limits), trust_env=False)

"""Encryption of secrets at rest (webhook secrets, WooCommerce keys, Fortnox tokens).

Fernet (AES-128-CBC + HMAC-SHA256) through `MultiFernet`: the first key encrypts, every key
decrypts, so keys rotate by prepending a new one and re-encrypting everything stored under the older
ones (`woonox keys rotate`, libs.common.store.rotation); then the old key can be removed.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from libs.common.errors import PermanentError

__all__ = ["SecretBox", "generate_key"]


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise PermanentError(
                "no encryption key configured: set WOONOX_SECRET_KEYS (generate one with "
                "`woonox keygen`)",
                code="no-secret-key",
            )
        try:
            fernets = [Fernet(k.encode()) for k in parts]
            self._first = fernets[0]
            self._fernet = MultiFernet(fernets)
        except ValueError as exc:
            raise PermanentError(f"WOONOX_SECRET_KEYS holds an invalid key: {exc}", code="bad-secret-key") from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise _undecryptable() from exc

    def is_current(self, token: str) -> bool:
        """Whether `token` is encrypted under the first (newest) key already."""
        try:
            self._first.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise _undecryptable() from exc


def _undecryptable() -> PermanentError:
    return PermanentError("a stored secret cannot be decrypted with WOONOX_SECRET_KEYS (was the key rotated away?)",
                          code="undecryptable-secret")

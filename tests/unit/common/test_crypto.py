from __future__ import annotations

import pytest

from libs.common.crypto import SecretBox, generate_key
from libs.common.errors import PermanentError


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    box = SecretBox(generate_key())
    token = box.encrypt("fortnox-refresh-token")
    assert "fortnox" not in token
    assert box.decrypt(token) == "fortnox-refresh-token"


def test_rotation_keeps_old_secrets_readable() -> None:
    old, new = generate_key(), generate_key()
    stored = SecretBox(old).encrypt("s")
    rotated_box = SecretBox(f"{new},{old}")
    assert rotated_box.decrypt(stored) == "s"
    assert SecretBox(new).decrypt(rotated_box.rotate(stored)) == "s"


def test_missing_or_wrong_key_is_a_clear_error() -> None:
    with pytest.raises(PermanentError, match="WOONOX_SECRET_KEYS"):
        SecretBox("")
    with pytest.raises(PermanentError, match="cannot be decrypted"):
        SecretBox(generate_key()).decrypt(SecretBox(generate_key()).encrypt("s"))


def test_is_current_tells_which_key_encrypted_and_rotate_refuses_unknown_keys() -> None:
    old, new = generate_key(), generate_key()
    stored = SecretBox(old).encrypt("s")
    box = SecretBox(f"{new},{old}")
    assert not box.is_current(stored)
    assert box.is_current(box.rotate(stored))
    with pytest.raises(PermanentError, match="cannot be decrypted"):
        SecretBox(new).rotate(stored)


"""Secrets stored encrypted at rest (automation signing keys and bearer tokens).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key taken from the setting
STEWARD_SECRETS_KEY: a Fernet key as `Fernet.generate_key()` prints it is used as is, any other
text is stretched with SHA-256. Unset, the key is derived from SECRET_KEY, so rotating SECRET_KEY
without setting STEWARD_SECRETS_KEY makes stored secrets unreadable (they must be set again).

Plain text never leaves this module except to the code that signs a request; nothing here logs.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (the key changed); set the secret again."""


def _fernet() -> Fernet:
    configured: str = getattr(settings, "STEWARD_SECRETS_KEY", "") or ""
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError:
            material = configured.encode()
    else:
        material = f"steward-secrets:{settings.SECRET_KEY}".encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))


def encrypt_json(value: dict[str, str]) -> str:
    """The ciphertext (ASCII) of a small JSON object of secrets."""
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode("ascii")


def decrypt_json(ciphertext: str) -> dict[str, str]:
    if not ciphertext:
        return {}
    try:
        plain = _fernet().decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, ValueError):
        raise SecretUnreadable("the stored secret cannot be decrypted; set it again") from None
    value = json.loads(plain)
    return {str(k): str(v) for k, v in value.items()}

"""Identifiers: lower-case ULIDs for new documents, random hex for tokens (spec 0.6)."""

from __future__ import annotations

import hashlib
import secrets
import string

from ulid import ULID

_BASE36 = string.digits + string.ascii_lowercase


def new_ulid() -> str:
    return str(ULID()).lower()


def random_hex40() -> str:
    """A 40-hex-char token: SHA-1 of random bytes, as CIRCUS issues access and refresh tokens."""
    return hashlib.sha1(secrets.token_bytes(32)).hexdigest()


def random_onetime_string() -> str:
    return "".join(secrets.choice(_BASE36) for _ in range(32))

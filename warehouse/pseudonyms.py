"""Pseudonymous user ids: HMAC-SHA256 of the raw id under a secret key (RFC 2104), hex, cut to
128 bits. Ingest replaces every user id with its pseudonym, so no table or published vector holds
a raw id; whoever holds the key (serving, support) computes a user's pseudonym with ``pseudonym``
and finds their rows. Without the key, a pseudonym cannot be tied back to a raw id, even by
hashing guessed ids (what an unkeyed hash would allow).

The key comes from the environment (``INTEREST_PSEUDONYM_KEY``) or a file
(``INTEREST_PSEUDONYM_KEY_FILE``, e.g. a mounted secret; by default ``secrets/pseudonym.key``
under the warehouse, which ``interest keygen`` creates); never from the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PSEUDONYM_HEX_CHARS = 32  # 128 bits: collisions need ~2^64 users
BLOCK_BYTES = 64  # SHA-256's block: a longer key is hashed first (RFC 2104)
MIN_KEY_BYTES = 16


class PseudonymKeyError(ValueError):
    """No usable pseudonym key while user ids are to be pseudonymised."""


def pseudonym(raw_id: str, key: bytes) -> str:
    """The pseudonym ingest stores for ``raw_id`` (the id as in the log, trimmed)."""
    return hmac.new(key, raw_id.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys: HMAC(k, m) = H(outer || H(inner || m)), so an engine with only
    SHA-256 (Spark SQL's sha2) computes the same pseudonyms as ``pseudonym``."""
    if len(key) > BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_BYTES, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def read_key(value: str | None, path: Path) -> bytes:
    """The key given as text (``value``), else the content of ``path``; at least 16 bytes."""
    if value is None:
        if not path.is_file():
            raise PseudonymKeyError(
                f"no pseudonym key: set INTEREST_PSEUDONYM_KEY, or INTEREST_PSEUDONYM_KEY_FILE to "
                f"a secret file (missing: {path}; `interest keygen` creates one), or turn "
                "pseudonymisation off with INTEREST_PSEUDONYMISE_USER_IDS=false"
            )
        value = path.read_text().strip()
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the pseudonym key is {len(key)} bytes; use at least {MIN_KEY_BYTES} random ones "
            "(`interest keygen` makes 64 hex characters)"
        )
    return key


def write_new_key(path: Path) -> None:
    """A new random key in ``path``, readable by its owner only; an existing key is never
    replaced (every pseudonym depends on it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")

"""Passphrase encryption of members (docs/FORMAT.md section 8): scrypt + AES-256-GCM segments."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from msde_tui.engine.errors import PackError

SEGMENT_SIZE = 1 << 20
TAG = 16
PREFIX = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_CHECK = b"msde-pack key check"


@dataclass(frozen=True)
class Sealer:
    """An AES-256-GCM key derived from a passphrase, with the parameters that go in the manifest."""

    key: bytes
    params: dict[str, Any]

    @classmethod
    def new(cls, passphrase: str) -> Sealer:
        if not passphrase:
            raise PackError("The passphrase is empty.", "Type a passphrase, or pack without encryption.")
        salt = os.urandom(16)
        key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        params = {
            "cipher": "AES-256-GCM",
            "kdf": "scrypt",
            "salt": base64.b64encode(salt).decode(),
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "segment_size": SEGMENT_SIZE,
            "key_check": _key_check(key),
        }
        return cls(key, params)

    @classmethod
    def open(cls, passphrase: str | None, params: dict[str, Any]) -> Sealer:
        if not passphrase:
            raise PackError(
                "This packed file is encrypted.", "Give its passphrase (--passphrase or MSDE_PACK_PASSPHRASE)."
            )
        try:
            if params["cipher"] != "AES-256-GCM" or params["kdf"] != "scrypt":
                raise PackError(f"Unknown encryption {params['cipher']}/{params['kdf']}.")
            n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
            if not (2 <= n <= 1 << 20 and 1 <= r <= 32 and 1 <= p <= 16):
                raise PackError("The encryption parameters of this packed file are absurd.")
            segment = int(params["segment_size"])
            if not 1024 <= segment <= 64 << 20:
                raise PackError("The encryption segment size of this packed file is absurd.")
            salt = base64.b64decode(params["salt"], validate=True)
            key = _derive(passphrase, salt, n, r, p)
            expected = str(params["key_check"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PackError(f"The encryption block of the manifest is damaged ({exc}).") from exc
        if not hmac.compare_digest(_key_check(key), expected):
            raise PackError("Wrong passphrase for this packed file.", "Type the passphrase used when packing.")
        return cls(key, dict(params))

    @property
    def segment_size(self) -> int:
        return int(self.params["segment_size"])

    def encrypt_stream(self, name: str, source: BinaryIO) -> Iterator[bytes]:
        """Yield the stored bytes of member ``name`` whose plaintext is read from ``source``."""
        aes = AESGCM(self.key)
        prefix = os.urandom(PREFIX)
        yield prefix
        index = 0
        current = source.read(self.segment_size)
        while True:
            following = source.read(self.segment_size) if current else b""
            last = not following
            yield aes.encrypt(_nonce(prefix, index), current, _aad(name, last))
            if last:
                return
            index += 1
            current = following

    def decrypt_stream(self, name: str, stored: BinaryIO) -> Iterator[bytes]:
        """Yield the plaintext of member ``name`` from its stored bytes; raise on any tampering."""
        aes = AESGCM(self.key)
        prefix = stored.read(PREFIX)
        if len(prefix) != PREFIX:
            raise PackError(f"The encrypted member {name} is truncated.")
        size = self.segment_size + TAG
        index = 0
        current = stored.read(size)
        while True:
            following = stored.read(size) if len(current) == size else b""
            last = not following
            try:
                yield aes.decrypt(_nonce(prefix, index), current, _aad(name, last))
            except InvalidTag as exc:
                raise PackError(
                    f"The encrypted member {name} is damaged or truncated (authentication failed).",
                    "Use another copy of the packed file.",
                ) from exc
            if last:
                return
            index += 1
            if index >= 1 << 32:
                raise PackError(f"The encrypted member {name} is too large.")
            current = following

    def seal_bytes(self, name: str, data: bytes) -> bytes:
        import io

        return b"".join(self.encrypt_stream(name, io.BytesIO(data)))

    def open_bytes(self, name: str, data: bytes) -> bytes:
        import io

        return b"".join(self.decrypt_stream(name, io.BytesIO(data)))


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 << 20
    )


def _key_check(key: bytes) -> str:
    return hmac.new(key, _CHECK, hashlib.sha256).hexdigest()


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(name: str, last: bool) -> bytes:
    return name.encode("utf-8") + b"\x00" + (b"\x01" if last else b"\x00")

"""Passphrase encryption of members (docs/FORMAT.md section 8): scrypt + AES-256-GCM segments."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from msde_tui.packfmt.errors import PackError

SEGMENT_SIZE = 1 << 20
TAG = 16
PREFIX = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 17, 8, 1  # new files (format 2.1); 2.0 files used n = 2^15
MIN_NEW_N = 1 << 17
_CHECK = b"msde-pack key check"  # format 2.0
_CHECK_21 = b"msde-pack 2.1 key check"  # 2.1: another label, so a 2.1 file relabelled 2.0 fails it
_MAC = b"msde-pack 2.1 manifest"
MAC_FIELD = "manifest_mac"


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
            "key_check": _key_check(key, _CHECK_21),
        }
        return cls(key, params)

    @classmethod
    def open(cls, passphrase: str | None, params: dict[str, Any], *, minor: int = 1) -> Sealer:
        """The key of an existing file; ``minor`` is its format's minor version (2.0: 0)."""
        if not passphrase:
            raise PackError(
                "This packed file is encrypted.",
                "Give its passphrase (typed when asked, or in MSDE_PACK_PASSPHRASE).",
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
        label = _CHECK if minor == 0 else _CHECK_21
        if not hmac.compare_digest(_key_check(key, label), expected):
            raise PackError("Wrong passphrase for this packed file.", "Type the passphrase used when packing.")
        return cls(key, dict(params))

    def manifest_mac(self, manifest: dict[str, Any]) -> str:
        """HMAC-SHA256, under a key derived from this one, of the manifest's canonical JSON
        without its own checksum and without this MAC (docs/FORMAT.md section 8)."""
        body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
        if isinstance(body.get("encryption"), dict):
            body["encryption"] = {k: v for k, v in body["encryption"].items() if k != MAC_FIELD}
        text = json.dumps(json.loads(json.dumps(body, default=str)), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
        mac_key = hmac.new(self.key, _MAC, hashlib.sha256).digest()
        return hmac.new(mac_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def check_manifest(self, manifest: dict[str, Any], where: str) -> None:
        expected = str((manifest.get("encryption") or {}).get(MAC_FIELD, ""))
        if not hmac.compare_digest(self.manifest_mac(manifest), expected):
            raise PackError(
                f"{where}: its manifest was changed after packing (it does not match its key).",
                "Use another copy of the packed file; do not trust this one.",
            )

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


def _key_check(key: bytes, label: bytes) -> str:
    return hmac.new(key, label, hashlib.sha256).hexdigest()


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(name: str, last: bool) -> bytes:
    return name.encode("utf-8") + b"\x00" + (b"\x01" if last else b"\x00")

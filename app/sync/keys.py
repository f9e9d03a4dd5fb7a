"""Node keys: Ed25519 for signatures, X25519 for wrapping each bundle's AES-256-GCM key for its recipient."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.sync.errors import SyncError

KEY_BYTES = 32
MAX_NODE_ID = 100
PRIVATE_TYPE = "xiangan-keypair"
PUBLIC_TYPE = "xiangan-public-keys"
WRAP_ALG = "X25519-HKDF-SHA256-A256GCM"
# The key-encryption key is derived from a fresh ephemeral key for every wrap, so it encrypts exactly one
# message and a constant nonce can never repeat under it.
_WRAP_NONCE = bytes(12)
_WRAP_INFO = b"xiangan/bundle-key-wrap/1"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, what: str, length: int | None = None) -> bytes:
    """Strict base64 of an expected length; anything else is a damaged key (``bad_key``)."""
    if not isinstance(text, str):
        raise SyncError("bad_key", f"{what}缺失")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SyncError("bad_key", f"{what}不是有效的base64文本") from exc
    if length is not None and len(data) != length:
        raise SyncError("bad_key", f"{what}长度应为{length}字节，实际{len(data)}字节")
    return data


def check_node_id(node_id: object) -> str:
    """Node ids name a PC (or the county) in envelopes and file names: short printable text."""
    if not isinstance(node_id, str) or not node_id.strip() or len(node_id) > MAX_NODE_ID:
        raise SyncError("bad_key", f"节点编号应为1到{MAX_NODE_ID}个字符")
    if any(not ch.isprintable() for ch in node_id):
        raise SyncError("bad_key", "节点编号含有不可见字符")
    return node_id


def _signed_message(context: str, data: bytes) -> bytes:
    # Domain separation: a signature made for one purpose (a bundle envelope) can never be replayed as
    # another (an acknowledgement, a certificate) even if the bytes happened to coincide.
    return b"xiangan/" + context.encode("utf-8") + b"\x00" + data


def _load_json(text: str | bytes | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    if isinstance(text, Mapping):
        return text
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SyncError("bad_key", f"{what}不是有效的JSON") from exc
    if not isinstance(data, dict):
        raise SyncError("bad_key", f"{what}格式不对")
    return data


def _check_type(data: Mapping[str, Any], expected: str, what: str) -> None:
    if data.get("type") != expected or data.get("version") != 1:
        raise SyncError("bad_key", f"{what}类型或版本不对")


@dataclass(frozen=True)
class PublicKeys:
    """What a node tells others about itself: its id and its two public keys (raw 32-byte values)."""

    node_id: str
    signing: bytes
    exchange: bytes

    def __post_init__(self) -> None:
        check_node_id(self.node_id)
        for what, value in (("签名公钥", self.signing), ("交换公钥", self.exchange)):
            if not isinstance(value, bytes) or len(value) != KEY_BYTES:
                raise SyncError("bad_key", f"{what}长度应为{KEY_BYTES}字节")

    @property
    def fingerprint(self) -> str:
        """16 hex digits in groups of four, read aloud over the phone to confirm an enrolment."""
        digest = hashlib.sha256(b"xiangan/fingerprint\x00" + self.signing + self.exchange).hexdigest()[:16]
        return "-".join(digest[i:i + 4] for i in range(0, 16, 4))

    def to_dict(self) -> dict[str, Any]:
        return {"type": PUBLIC_TYPE, "version": 1, "node_id": self.node_id,
                "signing": b64encode(self.signing), "exchange": b64encode(self.exchange)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PublicKeys:
        _check_type(data, PUBLIC_TYPE, "公钥")
        return cls(check_node_id(data.get("node_id")), b64decode(data.get("signing"), "签名公钥", KEY_BYTES),
                   b64decode(data.get("exchange"), "交换公钥", KEY_BYTES))

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> PublicKeys:
        return cls.from_dict(_load_json(text, "公钥"))

    def verify(self, context: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this node's signature of ``data`` for ``context``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.signing).verify(signature, _signed_message(context, data))
        except (InvalidSignature, ValueError):
            return False
        return True

    def wrap(self, secret: bytes, aad: bytes) -> dict[str, str]:
        """Encrypt ``secret`` so only this node can read it: ephemeral X25519 + HKDF-SHA256 + AES-256-GCM."""
        ephemeral = X25519PrivateKey.generate()
        try:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self.exchange))
        except ValueError as exc:  # a low-order point: every secret "wrapped" for it would be public
            raise SyncError("bad_key", f"节点「{self.node_id}」的交换公钥无效") from exc
        epk = ephemeral.public_key().public_bytes_raw()
        kek = _derive_kek(shared, epk, self.exchange)
        return {"alg": WRAP_ALG, "to": self.fingerprint, "epk": b64encode(epk),
                "wrapped": b64encode(AESGCM(kek).encrypt(_WRAP_NONCE, secret, aad))}


def _derive_kek(shared: bytes, epk: bytes, recipient_exchange: bytes) -> bytes:
    return HKDF(SHA256(), KEY_BYTES, salt=epk + recipient_exchange, info=_WRAP_INFO).derive(shared)


@dataclass(frozen=True, eq=False)  # private key objects only compare by identity; compare .public()
class KeyPair:
    """A node's private keys. Kept on that PC only (database or data folder), never sent anywhere."""

    node_id: str
    signing_key: Ed25519PrivateKey
    exchange_key: X25519PrivateKey

    @classmethod
    def generate(cls, node_id: str) -> KeyPair:
        return cls(check_node_id(node_id), Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    def public(self) -> PublicKeys:
        return PublicKeys(self.node_id, self.signing_key.public_key().public_bytes_raw(),
                          self.exchange_key.public_key().public_bytes_raw())

    def sign(self, context: str, data: bytes) -> bytes:
        """Ed25519 signature (64 bytes) of ``data`` for ``context`` (see ``PublicKeys.verify``)."""
        return self.signing_key.sign(_signed_message(context, data))

    def unwrap(self, wrapped: Mapping[str, Any], aad: bytes) -> bytes:
        """The secret ``PublicKeys.wrap`` encrypted for this node; ``decrypt_failed`` if it was not for us."""
        if not isinstance(wrapped, Mapping) or wrapped.get("alg") != WRAP_ALG:
            raise SyncError("decrypt_failed", "不支持的密钥封装方式")
        try:
            epk = b64decode(wrapped.get("epk"), "临时公钥", KEY_BYTES)
            box = b64decode(wrapped.get("wrapped"), "封装密钥")
            shared = self.exchange_key.exchange(X25519PublicKey.from_public_bytes(epk))
            kek = _derive_kek(shared, epk, self.public().exchange)
            return AESGCM(kek).decrypt(_WRAP_NONCE, box, aad)
        except SyncError as exc:
            raise SyncError("decrypt_failed", exc.detail) from exc
        except (InvalidTag, ValueError) as exc:  # ValueError: a low-order point gives an all-zero secret
            raise SyncError("decrypt_failed", "密钥不是发给本机的") from exc

    def to_dict(self) -> dict[str, Any]:
        return {"type": PRIVATE_TYPE, "version": 1, "node_id": self.node_id,
                "signing_private": b64encode(self.signing_key.private_bytes_raw()),
                "exchange_private": b64encode(self.exchange_key.private_bytes_raw())}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyPair:
        _check_type(data, PRIVATE_TYPE, "私钥")
        signing = b64decode(data.get("signing_private"), "签名私钥", KEY_BYTES)
        exchange = b64decode(data.get("exchange_private"), "交换私钥", KEY_BYTES)
        return cls(check_node_id(data.get("node_id")), Ed25519PrivateKey.from_private_bytes(signing),
                   X25519PrivateKey.from_private_bytes(exchange))

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> KeyPair:
        return cls.from_dict(_load_json(text, "私钥"))

    def __repr__(self) -> str:  # never print private key material into logs
        return f"KeyPair(node_id={self.node_id!r}, fingerprint={self.public().fingerprint!r})"


def random_key() -> bytes:
    """A fresh 256-bit symmetric key (one per bundle)."""
    return os.urandom(KEY_BYTES)

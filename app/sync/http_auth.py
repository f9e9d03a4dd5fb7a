"""Signed HTTP requests between a township PC and the county server (see the network sync contract).

Every request is signed with the PC's Ed25519 key over its method, path, time, a random nonce and the
SHA-256 of its body, so the same enrolled keys that sign USB bundles authenticate the PC online — no
passwords or tokens to leak. The time window and the nonce make a captured request useless later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from app.sync.errors import SyncError
from app.sync.keys import KeyPair, PublicKeys, check_node_id

SIGN_CONTEXT = "http-request"
WINDOW_SECONDS = 300
MAX_ENROL_HEADER = 8 * 1024  # an enrol meta is ≈600 bytes of JSON

H_NODE = "X-XiangAn-Node"
H_TIME = "X-XiangAn-Time"
H_NONCE = "X-XiangAn-Nonce"
H_SIGNATURE = "X-XiangAn-Signature"
H_ENROL = "X-XiangAn-Enrol"
H_SERVER_TIME = "X-XiangAn-Server-Time"

_NONCE = re.compile(r"^[0-9a-f]{32}$")
_TIME = re.compile(r"^-?[0-9]{1,12}$")

Lookup = Callable[[str, "dict[str, Any] | None"], PublicKeys]


def canonical(method: str, path: str, time: int, nonce: str, body: bytes) -> bytes:
    """The bytes that are signed: what is asked (method, path with query), when, once, and with what body."""
    return f"{method.upper()}\n{path}\n{time}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()


def encode_enrol(enrol: Mapping[str, Any]) -> str:
    raw = json.dumps(enrol, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_enrol(text: str) -> dict[str, Any]:
    """The enrol meta from its header (untrusted: bounded, strict base64url, a JSON object)."""
    if len(text) > MAX_ENROL_HEADER:
        raise SyncError("unauthenticated", message="登记信息过长，请求已拒绝。")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SyncError("unauthenticated", message="登记信息格式错误，请求已拒绝。") from None
    if not isinstance(data, dict):
        raise SyncError("unauthenticated", message="登记信息格式错误，请求已拒绝。")
    return data


def sign_request(keys: KeyPair, method: str, path: str, body: bytes, now: int,
                 enrol: dict[str, Any] | None = None) -> dict[str, str]:
    """Headers that authenticate one request. ``now`` is the client's estimate of the SERVER's clock;
    ``enrol`` (the enrol meta) rides along until the county has activated this PC."""
    nonce = secrets.token_hex(16)
    signature = keys.sign(SIGN_CONTEXT, canonical(method, path, int(now), nonce, body))
    headers = {H_NODE: keys.node_id, H_TIME: str(int(now)), H_NONCE: nonce,
               H_SIGNATURE: base64.b64encode(signature).decode("ascii")}
    if enrol is not None:
        headers[H_ENROL] = encode_enrol(enrol)
    return headers


class NonceCache:
    """Nonces seen within the time window, per node: a captured request replayed within the window is
    refused. Bounded per node; in memory (after a restart every API call is still idempotent anyway)."""

    def __init__(self, window: int = WINDOW_SECONDS, per_node: int = 10_000) -> None:
        self.window = window
        self.per_node = per_node
        self._seen: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def check_and_add(self, node_id: str, nonce: str, now: int) -> bool:
        """True if ``nonce`` is new for ``node_id`` (and remember it), False if it was used already."""
        with self._lock:
            seen = self._seen.setdefault(node_id, {})
            if nonce in seen:
                return False
            if len(seen) >= self.per_node:
                horizon = now - 2 * self.window
                for old in [n for n, at in seen.items() if at < horizon]:
                    del seen[old]
                if len(seen) >= self.per_node:  # a flood within one window: forget the oldest
                    del seen[next(iter(seen))]
            seen[nonce] = now
            return True


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _required(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if not value:
        raise SyncError("unauthenticated", message=f"请求缺少身份验证信息（{name}），已拒绝。")
    return value


def verify_request(method: str, path: str, headers: Mapping[str, str], body: bytes, now: int,
                   lookup: Lookup, nonces: NonceCache | None = None, window: int = WINDOW_SECONDS) -> str:
    """The node id of the PC that signed this request; raises SyncError otherwise.

    Codes: ``unauthenticated`` (headers missing or malformed), ``clock_skew`` (outside the window),
    ``unknown_sender``/``revoked`` (from ``lookup``), ``bad_signature``, ``replayed_request``."""
    node = _required(headers, H_NODE)
    time_text = _required(headers, H_TIME)
    nonce = _required(headers, H_NONCE)
    signature_text = _required(headers, H_SIGNATURE)
    try:
        check_node_id(node)
    except SyncError:
        raise SyncError("unauthenticated", message="请求中的电脑编号无效，已拒绝。") from None
    if not _TIME.match(time_text):
        raise SyncError("unauthenticated", message="请求中的时间格式错误，已拒绝。")
    if not _NONCE.match(nonce):
        raise SyncError("unauthenticated", message="请求中的随机数格式错误，已拒绝。")
    try:
        signature = base64.b64decode(signature_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SyncError("unauthenticated", message="请求中的签名格式错误，已拒绝。") from None
    if abs(int(time_text) - now) > window:
        raise SyncError("clock_skew", f"相差 {abs(int(time_text) - now)} 秒")
    enrol_text = _header(headers, H_ENROL)
    keys = lookup(node, decode_enrol(enrol_text) if enrol_text else None)
    if keys.node_id != node or not keys.verify(SIGN_CONTEXT, canonical(method, path, int(time_text), nonce, body),
                                               signature):
        raise SyncError("bad_signature", message="请求签名无效（密钥不符或内容被改动），已拒绝。")
    if nonces is not None and not nonces.check_and_add(node, nonce, now):
        raise SyncError("replayed_request")
    return node

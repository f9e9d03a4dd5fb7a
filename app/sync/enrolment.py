"""The enrolment file the county hands to a township PC, and the proof the PC's first bundle carries.

The file (JSON, signed by the county's key so a damaged copy is noticed) holds the county's public keys,
the township's id, code and name, a one-time code and (optionally) the county server's address. The PC generates its own keys and puts its public
keys in the meta of its first bundle with an HMAC over them keyed by the one-time code; the county checks
the HMAC against the code it issued and pins the keys. The code is never sent back in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.errors import ValidationError, XiangAnError
from app.sync.errors import SyncError
from app.sync.keys import KeyPair, PublicKeys

FILE_TYPE = "xiangan-enrolment"
SUFFIX = ".xae"
MAX_FILE_BYTES = 64 * 1024
SIGN_CONTEXT = "enrolment-file"
MAX_URL = 300


@dataclass(frozen=True)
class Enrolment:
    county_name: str
    county_keys: PublicKeys
    township_id: str
    township_code: str
    township_name: str
    township_bound: bool  # False: a township that already has data keeps its own id
    enrolment_id: str
    code: str
    server_url: str = ""  # "" when the county runs no server (USB only); files without it stay valid

    @property
    def county_id(self) -> str:
        return self.county_keys.node_id


def check_server_url(text: str) -> str:
    """A county server address as the township client will use it: http(s)://host[:port][/prefix]."""
    url = text.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if (len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok
            or parts.query or parts.fragment or any(not ch.isprintable() or ch.isspace() for ch in url)):
        raise ValidationError.single("server_url", "县级平台地址",
                                     f"「{text.strip()[:60]}」无效，应形如 http://192.168.1.10:8750 或 https://xiangan.example.gov.cn")
    return url


def new_code() -> str:
    return secrets.token_hex(16)


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_enrolment(path: Path, enrolment: Enrolment, county: KeyPair) -> Path:
    body = {
        "type": FILE_TYPE, "version": 1, "county_name": enrolment.county_name,
        "county_keys": enrolment.county_keys.to_dict(), "township_id": enrolment.township_id,
        "township_code": enrolment.township_code, "township_name": enrolment.township_name,
        "township_bound": enrolment.township_bound, "enrolment_id": enrolment.enrolment_id, "code": enrolment.code,
    }
    if enrolment.server_url:  # only when set: files of a USB-only county stay byte-for-byte as before
        body["server_url"] = enrolment.server_url
    signature = base64.b64encode(county.sign(SIGN_CONTEXT, _canonical(body))).decode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**body, "signature": signature}, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _not_enrolment(name: str, problem: str) -> XiangAnError:
    return XiangAnError(f"「{name}」不是有效的登记文件（{problem}）。请使用县里为本乡镇生成的登记文件（.xae）。")


def read_enrolment(path: Path) -> Enrolment:
    """Read and check an enrolment file (untrusted input: size, JSON shape, the county's signature)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _not_enrolment(path.name, "文件过大")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XiangAnError(f"文件「{path.name}」不存在，可能已被移动或删除") from None
    except (OSError, ValueError, UnicodeDecodeError):
        raise _not_enrolment(path.name, "无法读取或格式错误") from None
    if not isinstance(data, dict) or data.get("type") != FILE_TYPE or data.get("version") != 1:
        raise _not_enrolment(path.name, "文件类型不对")
    signature = data.pop("signature", None)
    try:
        keys = PublicKeys.from_dict(data.get("county_keys") or {})
        raw = base64.b64decode(str(signature), validate=True)
    except (SyncError, binascii.Error, ValueError):
        raise _not_enrolment(path.name, "县级公钥或签名损坏") from None
    if not keys.verify(SIGN_CONTEXT, _canonical(data), raw):
        raise _not_enrolment(path.name, "签名不符，文件可能已损坏或被改动")
    fields = ("county_name", "township_id", "township_code", "township_name", "enrolment_id", "code")
    if any(not isinstance(data.get(f), str) or not data.get(f) for f in fields):
        raise _not_enrolment(path.name, "缺少乡镇或登记码信息")
    server_url = data.get("server_url", "")
    try:
        server_url = check_server_url(server_url) if server_url else ""
    except (ValidationError, AttributeError):
        raise _not_enrolment(path.name, "县级平台地址无效") from None
    return Enrolment(data["county_name"], keys, data["township_id"], data["township_code"], data["township_name"],
                     bool(data.get("township_bound")), data["enrolment_id"], data["code"], server_url)


def proof(code: str, keys: PublicKeys, township_id: str, enrolment_id: str) -> str:
    message = _canonical({"keys": keys.to_dict(), "township_id": township_id, "enrolment_id": enrolment_id})
    return hmac.new(code.encode("utf-8"), message, hashlib.sha256).hexdigest()


def enrol_meta(enrolment_id: str, code: str, keys: PublicKeys, township_id: str, retired: list[str]) -> dict[str, Any]:
    """What a PC's bundles carry until the county acknowledged one: its keys and the proof of the code."""
    return {"enrolment_id": enrolment_id, "public_keys": keys.to_dict(), "township_id": township_id,
            "retired": list(retired), "proof": proof(code, keys, township_id, enrolment_id)}


def check_enrol_meta(meta: Any, code: str, sender: str) -> PublicKeys | None:
    """The PC's public keys if ``meta`` proves knowledge of ``code`` for ``sender``; otherwise None."""
    if not isinstance(meta, dict):
        return None
    try:
        keys = PublicKeys.from_dict(meta.get("public_keys") or {})
    except SyncError:
        return None
    expected = proof(code, keys, str(meta.get("township_id", "")), str(meta.get("enrolment_id", "")))
    if keys.node_id != sender or not hmac.compare_digest(expected, str(meta.get("proof", ""))):
        return None
    return keys

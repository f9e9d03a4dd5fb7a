"""Signed requests: what the county server accepts and refuses (app/sync/http_auth.py)."""

from __future__ import annotations

import base64

import pytest

from app.sync.enrolment import enrol_meta
from app.sync.errors import SyncError
from app.sync.http_auth import (
    H_ENROL,
    H_NONCE,
    H_SIGNATURE,
    H_TIME,
    NonceCache,
    decode_enrol,
    sign_request,
    verify_request,
)
from app.sync.keys import KeyPair, PublicKeys

NOW = 1_780_000_000
PC = KeyPair.generate("pc-1")


def _known(keys: KeyPair = PC):
    def lookup(node_id: str, enrol: dict | None) -> PublicKeys:
        if node_id != keys.node_id:
            raise SyncError("unknown_sender", node_id)
        return keys.public()

    return lookup


def _verify(headers: dict[str, str], *, method: str = "POST", path: str = "/api/v1/uploads",
            body: bytes = b'{"a":1}', now: int = NOW, lookup=None, nonces: NonceCache | None = None) -> str:
    return verify_request(method, path, headers, body, now, lookup or _known(), nonces)


def _code(call) -> str:
    with pytest.raises(SyncError) as caught:
        call()
    return caught.value.code


def test_a_signed_request_names_its_node():
    headers = sign_request(PC, "post", "/api/v1/uploads", b'{"a":1}', NOW)
    assert _verify(headers) == "pc-1"
    lowered = {k.lower(): v for k, v in headers.items()}  # HTTP header names are case-insensitive
    assert _verify(lowered) == "pc-1"


@pytest.mark.parametrize("change", [
    {"method": "PUT"}, {"path": "/api/v1/uploads?offset=1"}, {"body": b'{"a":2}'}])
def test_any_change_to_what_was_signed_breaks_the_signature(change):
    headers = sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    assert _code(lambda: _verify(headers, **change)) == "bad_signature"


def test_another_pcs_key_is_refused():
    other = KeyPair.generate("pc-1")  # same node id, different key: a stolen name without the key
    headers = sign_request(other, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    assert _code(lambda: _verify(headers)) == "bad_signature"


def test_an_unknown_or_revoked_node_is_refused_by_the_lookup():
    stranger = KeyPair.generate("pc-9")
    headers = sign_request(stranger, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    assert _code(lambda: _verify(headers)) == "unknown_sender"

    def revoked(node_id, enrol):
        raise SyncError("revoked")

    assert _code(lambda: _verify(sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW),
                                 lookup=revoked)) == "revoked"


@pytest.mark.parametrize("skew", [301, -301, 3 * 3600])
def test_outside_the_time_window_is_clock_skew(skew):
    headers = sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW + skew)
    with pytest.raises(SyncError) as caught:
        _verify(headers)
    assert caught.value.code == "clock_skew" and "时钟" in str(caught.value)


def test_inside_the_window_is_accepted():
    assert _verify(sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW - 300)) == "pc-1"


@pytest.mark.parametrize("name", [H_TIME, H_NONCE, H_SIGNATURE, "X-XiangAn-Node"])
def test_a_missing_header_is_unauthenticated_and_named(name):
    headers = sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    del headers[name]
    with pytest.raises(SyncError) as caught:
        _verify(headers)
    assert caught.value.code == "unauthenticated" and name in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [
    (H_TIME, "soon"), (H_NONCE, "xyz"), (H_SIGNATURE, "not base64!"), ("X-XiangAn-Node", "a\x00b")])
def test_a_malformed_header_is_unauthenticated(name, value):
    headers = sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    headers[name] = value
    assert _code(lambda: _verify(headers)) == "unauthenticated"


def test_a_replayed_nonce_is_refused():
    nonces = NonceCache()
    headers = sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW)
    assert _verify(headers, nonces=nonces) == "pc-1"
    assert _code(lambda: _verify(headers, nonces=nonces)) == "replayed_request"
    assert _verify(sign_request(PC, "POST", "/api/v1/uploads", b'{"a":1}', NOW), nonces=nonces) == "pc-1"


def test_the_nonce_cache_stays_bounded():
    nonces = NonceCache(per_node=3)
    for i in range(10):
        assert nonces.check_and_add("pc-1", f"{i:032x}", NOW)
    assert len(nonces._seen["pc-1"]) == 3


def test_the_enrol_meta_travels_to_the_lookup():
    meta = enrol_meta("slot-1", "code", PC.public(), "twp-1", [])
    seen = []

    def lookup(node_id, enrol):
        seen.append(enrol)
        return PC.public()

    headers = sign_request(PC, "GET", "/api/v1/state", b"", NOW, enrol=meta)
    assert verify_request("GET", "/api/v1/state", headers, b"", NOW, lookup) == "pc-1"
    assert seen == [meta]


@pytest.mark.parametrize("text", ["!!!", base64.urlsafe_b64encode(b"[1,2]").decode(), "A" * 9000])
def test_a_malformed_enrol_header_is_refused(text):
    assert _code(lambda: decode_enrol(text)) == "unauthenticated"
    headers = sign_request(PC, "GET", "/api/v1/state", b"", NOW)
    headers[H_ENROL] = text
    assert _code(lambda: _verify(headers, method="GET", path="/api/v1/state", body=b"")) == "unauthenticated"

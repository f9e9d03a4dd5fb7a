"""Node keys: generation, JSON round trips, signatures with domain separation, key wrapping, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.sync.errors import MESSAGES, SyncError
from app.sync.keys import KeyPair, PublicKeys


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return KeyPair.generate("twp-001-pc1")


def test_private_and_public_keys_survive_json(pair: KeyPair) -> None:
    restored = KeyPair.from_json(pair.to_json())
    assert restored.node_id == "twp-001-pc1"
    assert restored.public() == pair.public()
    assert PublicKeys.from_json(pair.public().to_json()) == pair.public()
    assert PublicKeys.from_dict(json.loads(pair.public().to_json())) == pair.public()


def test_public_json_carries_no_private_material(pair: KeyPair) -> None:
    text = pair.public().to_json()
    assert "private" not in text
    assert pair.to_dict()["signing_private"] not in text
    assert "signing_private" not in repr(pair) and pair.public().fingerprint in repr(pair)


def test_fingerprint_is_short_stable_and_distinct(pair: KeyPair) -> None:
    fingerprint = pair.public().fingerprint
    assert len(fingerprint) == 19 and fingerprint.count("-") == 3
    assert fingerprint == PublicKeys.from_json(pair.public().to_json()).fingerprint
    assert fingerprint != KeyPair.generate("twp-001-pc1").public().fingerprint


def test_signature_verifies_only_for_same_context_data_and_key(pair: KeyPair) -> None:
    signature = pair.sign("ack", b"upstream=120")
    public = pair.public()
    assert public.verify("ack", b"upstream=120", signature)
    assert not public.verify("certificate", b"upstream=120", signature)
    assert not public.verify("ack", b"upstream=121", signature)
    assert not public.verify("ack", b"upstream=120", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not KeyPair.generate("other").public().verify("ack", b"upstream=120", signature)


def test_wrapped_secret_opens_only_for_its_recipient_and_aad(pair: KeyPair) -> None:
    wrapped = pair.public().wrap(b"k" * 32, b"bundle-1")
    assert pair.unwrap(wrapped, b"bundle-1") == b"k" * 32
    assert wrapped["to"] == pair.public().fingerprint
    with pytest.raises(SyncError) as wrong_aad:
        pair.unwrap(wrapped, b"bundle-2")
    assert wrong_aad.value.code == "decrypt_failed"
    assert "同步文件无法解密" in str(wrong_aad.value)
    with pytest.raises(SyncError) as stranger:
        KeyPair.generate("stranger").unwrap(wrapped, b"bundle-1")
    assert stranger.value.code == "decrypt_failed"
    assert "密钥不是发给本机的" in str(stranger.value)


def test_each_wrap_uses_a_fresh_ephemeral_key(pair: KeyPair) -> None:
    first, second = (pair.public().wrap(b"k" * 32, b"a") for _ in range(2))
    assert first["epk"] != second["epk"] and first["wrapped"] != second["wrapped"]


def test_low_order_ephemeral_key_is_refused(pair: KeyPair) -> None:
    wrapped = {**pair.public().wrap(b"k" * 32, b"a"), "epk": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    with pytest.raises(SyncError) as caught:
        pair.unwrap(wrapped, b"a")
    assert caught.value.code == "decrypt_failed"


def test_wrapping_for_a_low_order_public_key_is_refused() -> None:
    weak = PublicKeys("twp-x", bytes(32), bytes(32))
    with pytest.raises(SyncError) as caught:
        weak.wrap(b"k" * 32, b"a")
    assert str(caught.value) == "密钥数据无效或已损坏（节点「twp-x」的交换公钥无效）。请从备份恢复密钥，或重新登记。"


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d.update(signing="not base64!"), "签名公钥不是有效的base64文本"),
    (lambda d: d.update(exchange=d["signing"][:8]), "交换公钥长度应为32字节，实际6字节"),
    (lambda d: d.pop("signing"), "签名公钥缺失"),
    (lambda d: d.update(type="xiangan-keypair"), "公钥类型或版本不对"),
    (lambda d: d.update(version=2), "公钥类型或版本不对"),
    (lambda d: d.update(node_id=""), "节点编号应为1到100个字符"),
    (lambda d: d.update(node_id="a\nb"), "节点编号含有不可见字符"),
])
def test_damaged_public_keys_are_refused_with_a_chinese_message(pair: KeyPair, change, problem) -> None:
    data = pair.public().to_dict()
    change(data)
    with pytest.raises(SyncError) as caught:
        PublicKeys.from_dict(data)
    assert caught.value.code == "bad_key"
    assert str(caught.value) == f"密钥数据无效或已损坏（{problem}）。请从备份恢复密钥，或重新登记。"


@pytest.mark.parametrize("text", ["", "[]", "{not json", '{"type": "xiangan-keypair", "version": 1}'])
def test_damaged_private_keys_are_refused(text: str) -> None:
    with pytest.raises(SyncError) as caught:
        KeyPair.from_json(text)
    assert caught.value.code == "bad_key"
    assert str(caught.value).startswith("密钥数据无效或已损坏（")


def test_generate_refuses_a_bad_node_id() -> None:
    with pytest.raises(SyncError) as caught:
        KeyPair.generate("x" * 101)
    assert "节点编号应为1到100个字符" in str(caught.value)


def test_every_sync_error_code_raised_in_app_sync_has_a_standard_message() -> None:
    source = Path(__file__).resolve().parents[2] / "app" / "sync"
    codes = {code for path in source.rglob("*.py")
             for code in re.findall(r'SyncError\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert codes and codes <= set(MESSAGES), sorted(codes - set(MESSAGES))


def test_an_unlisted_code_still_gives_a_sentence() -> None:
    assert str(SyncError("no_such_code")) == "同步操作失败。请把这条信息告诉技术支持人员。"
    assert str(SyncError("damaged", message="自定义说明。")) == "自定义说明。"

"""Bundles that must be refused: damage, truncation, tampering, strangers, versions, bombs, unsafe names.

Every refusal is checked by its stable code and by the exact Chinese sentence the user sees."""

from __future__ import annotations

import hashlib
import json
import random
import struct
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sync import crypto
from app.sync.bundle import (
    ENVELOPE_NAME,
    SIGNATURE_NAME,
    EnvelopeDraft,
    open_bundle,
    peek_envelope,
    write_bundle,
)
from app.sync.errors import SyncError
from app.sync.keys import KeyPair
from app.sync.limits import Limits
from tests.sync.bundle_kit import (
    attachment_file,
    envelope_of,
    read_entries,
    realistic_rows,
    resign,
    rewrite,
    stamp_trailer,
)

DAMAGED = "同步文件已损坏，内容与导出时不一致（{}）。请换一个U盘重新复制，或在导出端重新导出。"
TRUNCATED = "同步文件不完整，可能没有复制完或被截断。请重新复制该文件，或在导出端重新导出。"
TOO_LARGE = "同步文件超出安全限制，已拒绝打开（{}）。该文件可能不是本系统导出的，请向导出方核实。"
UNSAFE = "同步文件含有不安全或不认识的条目名（条目名「{}」）。该文件可能不是本系统导出的，请向导出方核实。"
TAMPERED = "同步文件中的数据与签名清单不一致，文件可能被篡改（{}）。请不要导入该文件，并向导出方核实。"
BAD_SIGNATURE = "同步文件的签名无效，文件可能被篡改。请不要导入该文件，并向导出方核实。"
UNDECRYPTABLE = "同步文件无法解密（{}）。该文件可能不是发给本机的，或本机密钥已更换；请向导出方核实。"


@dataclass
class Keys:
    township: KeyPair
    county: KeyPair

    def known(self, node: str):
        return self.township.public() if node == self.township.node_id else None


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(KeyPair.generate("twp-001-pc1"), KeyPair.generate("county"))


@pytest.fixture(scope="module")
def original(keys: Keys, tmp_path_factory) -> Path:
    """One bundle with three parts and two attachments; tests damage copies of it."""
    folder = tmp_path_factory.mktemp("original")
    files = [attachment_file(folder, "scan.jpg", 40_000, seed=1), attachment_file(folder, "photo.jpg", 900, seed=2)]
    write_bundle(folder / "b.xab", EnvelopeDraft(kind="data", township="twp-001", seq_from=1, seq_to=1200),
                 [realistic_rows(1200)], files, keys.township, keys.county.public())
    return folder / "b.xab"


@pytest.fixture
def bundle(original: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "b.xab"
    copy.write_bytes(original.read_bytes())
    return copy


def refused(path: Path, keys: Keys, me: KeyPair | None = None, known=None, limits: Limits | None = None) -> SyncError:
    """Open must fail, and so must peek wherever the failure precedes the signature check."""
    with pytest.raises(SyncError) as caught:
        open_bundle(path, me or keys.county, known or keys.known, **({"limits": limits} if limits else {}))
    return caught.value


def test_the_untouched_copy_opens(bundle: Path, keys: Keys) -> None:
    with open_bundle(bundle, keys.county, keys.known) as opened:
        assert opened.envelope.rows == 1200


# -- accidental damage ----------------------------------------------------------------------------
def regions(path: Path) -> dict[str, tuple[int, int]]:
    """Byte ranges of every structure in the file, found independently of the reader's code."""
    data = path.read_bytes()
    found: dict[str, tuple[int, int]] = {}
    attachments = [item["name"] for item in envelope_of(path)["attachments"]]
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_length + extra_length
            label = f"attachment {attachments.index(info.filename) + 1}" if info.filename in attachments \
                else info.filename
            found[f"header of {label}"] = (info.header_offset, start)
            found[f"data of {label}"] = (start, start + info.compress_size)
        end = len(data) - 22 - 75
        found["central directory"] = (archive.start_dir, end)
    found["end record signature"] = (end, end + 4)
    found["end record fields"] = (end + 4, end + 20)
    found["end record comment length"] = (end + 20, end + 22)
    found["trailer prefix"] = (end + 22, end + 33)
    found["trailer digest"] = (end + 33, len(data))
    return found


ENTRIES = ["parts/00001", "parts/00002", "parts/00003", "attachment 1", "attachment 2", ENVELOPE_NAME,
           SIGNATURE_NAME]
REGIONS = [f"{kind} of {entry}" for entry in ENTRIES for kind in ("header", "data")] + [
    "central directory", "end record signature", "end record fields", "end record comment length",
    "trailer prefix", "trailer digest"]


def expected_for(region: str) -> tuple[str, str]:
    if region == "end record signature":
        return "truncated", TRUNCATED
    if region == "end record comment length":
        return "damaged", DAMAGED.format("文件结尾部分已损坏")
    if region == "trailer prefix":
        return "damaged", DAMAGED.format("文件尾部校验信息缺失")
    return "damaged", DAMAGED.format("文件校验值不一致")


def flip(path: Path, offset: int, mask: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("region", REGIONS)
def test_a_flipped_byte_anywhere_is_refused_as_damage(bundle: Path, keys: Keys, region: str, where: str) -> None:
    start, end = regions(bundle)[region]
    offset = {"first": start, "middle": (start + end) // 2, "last": end - 1}[where]
    flip(bundle, offset, 0x01 if where == "middle" else 0xFF)
    code, message = expected_for(region)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == (code, message)
    with pytest.raises(SyncError) as peeked:
        peek_envelope(bundle)
    assert peeked.value.code == code


def test_flips_at_200_offsets_across_the_file_are_all_refused(bundle: Path, keys: Keys) -> None:
    original = bundle.read_bytes()
    spans = regions(bundle)
    rng = random.Random(11)
    for offset in sorted(rng.sample(range(len(original)), 200)):
        bundle.write_bytes(original)
        flip(bundle, offset, rng.randrange(1, 256))
        region = next(name for name, (start, end) in spans.items() if start <= offset < end)
        error = refused(bundle, keys)
        assert (error.code, str(error)) == expected_for(region), (offset, region)


@pytest.mark.parametrize("cut", [0, 1, 4, 21, 22, 96, 97, 98, "half", -98, -97, -96, -75, -64, -10, -1])
def test_a_truncated_file_is_refused(bundle: Path, keys: Keys, cut) -> None:
    data = bundle.read_bytes()
    length = len(data) // 2 if cut == "half" else cut if cut >= 0 else len(data) + cut
    bundle.write_bytes(data[:length])
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("truncated", TRUNCATED)


def test_bytes_appended_after_the_end_are_refused(bundle: Path, keys: Keys) -> None:
    bundle.write_bytes(bundle.read_bytes() + b"\x00" * 512)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("damaged", DAMAGED.format("文件结尾部分已损坏"))


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "photo.xab").write_bytes(random.Random(3).randbytes(5000))
    assert refused(tmp_path / "photo.xab", keys).code == "truncated"
    plain = rewrite(tmp_path / "plain.xab", {"readme.txt": b"hello"}, trailer=False)
    assert refused(plain, keys).code == "truncated"


def test_a_missing_file_is_reported_as_unreadable(tmp_path: Path, keys: Keys) -> None:
    error = refused(tmp_path / "gone.xab", keys)
    assert error.code == "unreadable"
    assert str(error) == "无法读取同步文件（No such file or directory）。请确认U盘已插好、文件仍在原处，然后重试。"


# -- deliberate changes (the trailer digest recomputed, as anyone can) ---------------------------------
def test_a_part_copied_from_another_bundle_is_refused(bundle: Path, keys: Keys, tmp_path: Path) -> None:
    """The same rows sealed in another bundle: same size, other bytes (another key)."""
    other = tmp_path / "other.xab"
    write_bundle(other, EnvelopeDraft(kind="data"), [realistic_rows(1200)[:500]], [], keys.township,
                 keys.county.public())
    entries = read_entries(bundle)
    assert len(entries["parts/00001"]) == len(read_entries(other)["parts/00001"])
    entries["parts/00001"] = read_entries(other)["parts/00001"]
    rewrite(bundle, entries)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("hash_mismatch", TAMPERED.format("条目「parts/00001」"))


def test_a_copied_part_with_a_resigned_envelope_still_does_not_decrypt(bundle: Path, keys: Keys,
                                                                       tmp_path: Path) -> None:
    """Even the sender's own key cannot make a part of one bundle valid in another: key and AAD differ."""
    other = tmp_path / "other.xab"
    write_bundle(other, EnvelopeDraft(kind="data"), [realistic_rows(500, seed=99)], [], keys.township,
                 keys.county.public())
    foreign = envelope_of(other)["parts"][0]
    entries = read_entries(bundle)
    entries["parts/00001"] = read_entries(other)["parts/00001"]

    def take_foreign(envelope):
        envelope["parts"][0] = foreign

    resign(bundle, keys.township, take_foreign, entries)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("decrypt_failed", UNDECRYPTABLE.format("数据分段「parts/00001」无法通过完整性校验"))


def test_parts_swapped_inside_a_bundle_do_not_decrypt(bundle: Path, keys: Keys) -> None:
    """Same key, but each part's name is in its AAD: reordering is detected even with a valid signature."""
    entries = read_entries(bundle)
    entries["parts/00001"], entries["parts/00002"] = entries["parts/00002"], entries["parts/00001"]

    def swap(envelope):
        first, second = envelope["parts"][0], envelope["parts"][1]
        for field in ("sha256", "rows", "size", "raw_size"):
            first[field], second[field] = second[field], first[field]

    resign(bundle, keys.township, swap, entries)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("decrypt_failed", UNDECRYPTABLE.format("数据分段「parts/00001」无法通过完整性校验"))


def test_a_replaced_attachment_is_refused(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    name = envelope_of(bundle)["attachments"][1]["name"]
    entries[name] = bytes(len(entries[name]))
    rewrite(bundle, entries)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("hash_mismatch", TAMPERED.format(f"条目「{name}」"))


def test_an_edited_envelope_breaks_the_signature(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    envelope = json.loads(entries[ENVELOPE_NAME])
    envelope["seq_to"] = 99999
    entries[ENVELOPE_NAME] = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    rewrite(bundle, entries)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("bad_signature", BAD_SIGNATURE)


def test_an_impostor_signing_as_a_known_sender_is_refused(bundle: Path, keys: Keys) -> None:
    impostor = KeyPair.generate(keys.township.node_id)
    resign(bundle, impostor, lambda envelope: None)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("bad_signature", BAD_SIGNATURE)


# -- who sent it, to whom ---------------------------------------------------------------------------
def test_an_unknown_sender_is_refused(bundle: Path, keys: Keys) -> None:
    error = refused(bundle, keys, known=lambda node: None)
    assert error.code == "unknown_sender"
    assert str(error) == "同步文件来自未登记的单位或电脑（发送方「twp-001-pc1」）。请先完成登记（注册），或向导出方核实。"


def test_known_keys_of_another_node_do_not_vouch_for_the_sender(bundle: Path, keys: Keys) -> None:
    stranger = KeyPair.generate("twp-002-pc1").public()
    error = refused(bundle, keys, known=lambda node: stranger)
    assert error.code == "unknown_sender"


def test_a_bundle_for_another_recipient_is_refused(bundle: Path, keys: Keys) -> None:
    other_county = KeyPair.generate("county-2")
    error = refused(bundle, keys, me=other_county)
    assert error.code == "wrong_recipient"
    assert str(error) == ("该同步文件不是发给本单位（本机）的（收件方为「county」，本机为「county-2」）。"
                          "请确认文件来源，导入发给本单位的文件。")


def test_a_bundle_for_this_node_id_under_an_old_key_is_refused(bundle: Path, keys: Keys) -> None:
    rekeyed = KeyPair.generate("county")
    error = refused(bundle, keys, me=rekeyed)
    assert (error.code, str(error)) == ("decrypt_failed", UNDECRYPTABLE.format("文件是用本机的旧密钥加密的"))


# -- format versions ------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "code", "message"), [
    (0, "format_too_old", "同步文件的格式版本过旧，本软件已不再支持（文件格式0，本软件支持1到1）。请让导出方升级软件后重新导出。"),
    (2, "format_too_new", "同步文件的格式版本比本软件新（文件格式2，本软件支持1到1）。请先升级本软件，再导入该文件。"),
])
def test_older_and_newer_formats_are_refused_clearly(bundle: Path, keys: Keys, version, code, message) -> None:
    resign(bundle, keys.township, lambda envelope: envelope.update(format=version))
    error = refused(bundle, keys)
    assert (error.code, str(error)) == (code, message)
    with pytest.raises(SyncError) as peeked:
        peek_envelope(bundle)
    assert peeked.value.code == code


@pytest.mark.parametrize(("change", "detail"), [
    (lambda e: e.pop("format"), "清单缺少格式版本"),
    (lambda e: e.update(format=True), "清单缺少格式版本"),
    (lambda e: e.update(seq_from="1"), "清单字段「seq_from」缺失或类型不对"),
    (lambda e: e.update(seq_from=5, seq_to=4), "清单中的序号范围颠倒"),
    (lambda e: e.update(extra=1), "清单含有不认识的字段「extra」"),
    (lambda e: e.update(bundle_id="not-a-uuid"), "清单字段「bundle_id」不是有效的编号"),
    (lambda e: e["parts"][0].update(name="parts/1"), "数据分段字段「name」的值不合规"),
    (lambda e: e["parts"].append(dict(e["parts"][0])), "清单中有重复的条目"),
])
def test_a_malformed_signed_envelope_is_refused(bundle: Path, keys: Keys, change, detail) -> None:
    resign(bundle, keys.township, change)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("damaged", DAMAGED.format(detail))


@pytest.mark.parametrize(("change", "detail"), [
    (lambda e: e["parts"].pop(), "条目「parts/00003」不在清单中"),
    (lambda e: e["parts"][0].update(size=e["parts"][0]["size"] + 1), "条目「parts/00001」的大小与清单不符"),
])
def test_a_signed_envelope_not_matching_the_entries_is_refused(bundle: Path, keys: Keys, change, detail) -> None:
    resign(bundle, keys.township, change)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("hash_mismatch", TAMPERED.format(detail))


def test_an_envelope_that_is_not_json_is_refused(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    rewrite(bundle, {**entries, ENVELOPE_NAME: b"\xff{not json"})
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("damaged", DAMAGED.format("清单不是有效的JSON"))


def test_an_entry_not_in_the_envelope_is_refused(bundle: Path, keys: Keys) -> None:
    smuggled = f"attachments/{hashlib.sha256(b'x').hexdigest()}"
    rewrite(bundle, {**read_entries(bundle), smuggled: b"x"})
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("hash_mismatch", TAMPERED.format(f"条目「{smuggled}」不在清单中"))


# -- resource limits ------------------------------------------------------------------------------
def test_a_high_ratio_entry_is_refused_before_it_is_inflated(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    entries["parts/00001"] = bytes(20_000_000)  # deflates ~1000:1
    rewrite(bundle, entries, compress=zipfile.ZIP_DEFLATED)
    assert bundle.stat().st_size < 1_000_000
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("条目「envelope.json」的压缩比异常")) or (
        error.code, str(error)) == ("too_large", TOO_LARGE.format("条目「parts/00001」的压缩比异常"))


def test_a_compressed_entry_of_modest_ratio_is_still_not_ours(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    rewrite(bundle, {SIGNATURE_NAME: entries.pop(SIGNATURE_NAME), **entries}, compress=zipfile.ZIP_DEFLATED)
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("damaged", DAMAGED.format("条目「envelope.sig」的存储方式不对"))


def test_an_oversized_entry_is_refused(bundle: Path, keys: Keys) -> None:
    error = refused(bundle, keys, limits=Limits(max_part_bytes=10_000))
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("条目「parts/00001」大小超过上限"))


def test_a_part_inflating_past_the_cap_is_refused_before_decompression(bundle: Path, keys: Keys) -> None:
    error = refused(bundle, keys, limits=Limits(max_part_raw_bytes=100_000))
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("数据分段「parts/00001」解压后大小超过上限"))


def test_a_part_claiming_more_rows_than_allowed_is_refused(bundle: Path, keys: Keys) -> None:
    resign(bundle, keys.township, lambda e: e["parts"][0].update(rows=501))
    error = refused(bundle, keys)
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("数据分段「parts/00001」的行数501不在1到500之间"))


def test_a_file_over_the_size_limit_is_refused_unread(bundle: Path, keys: Keys) -> None:
    error = refused(bundle, keys, limits=Limits(max_file_bytes=50_000))
    size = f"{bundle.stat().st_size / 1048576:.1f}MB" if bundle.stat().st_size >= 1048576 \
        else f"{round(bundle.stat().st_size / 1024)}KB"
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format(f"文件大小{size}超过上限49KB"))


def test_many_entries_are_refused_before_the_directory_is_parsed(tmp_path: Path, keys: Keys) -> None:
    entries = {f"attachments/{n:064x}": b"" for n in range(25_000)}
    bomb = rewrite(tmp_path / "many.xab", entries)
    error = refused(bomb, keys)
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("条目数25000超过上限20000"))


def test_entry_count_limit_applies_to_real_bundles_too(bundle: Path, keys: Keys) -> None:
    error = refused(bundle, keys, limits=Limits(max_entries=6))
    assert (error.code, str(error)) == ("too_large", TOO_LARGE.format("条目数7超过上限6"))


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "C:/Windows/x", "parts\\00001", "parts/../envelope.json",
                                  "parts/00001/", "readme.txt", "attachments/ABC", "parts/00001\n",
                                  "parts/\u0661\u0662\u0663\u0664\u0665"])
def test_unsafe_or_unknown_entry_names_are_refused(bundle: Path, keys: Keys, name: str) -> None:
    rewrite(bundle, {**read_entries(bundle), name: b"payload"})
    error = refused(bundle, keys)
    shown = name if name.isprintable() else repr(name)
    assert (error.code, str(error)) == ("unsafe_name", UNSAFE.format(shown))


def test_duplicate_entry_names_are_refused(bundle: Path, keys: Keys) -> None:
    entries = read_entries(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we make on purpose
        with zipfile.ZipFile(bundle, "w") as archive:
            for name, data in [*entries.items(), ("parts/00001", entries["parts/00001"])]:
                archive.writestr(name, data)
            archive.comment = b"XAB-SHA256:" + bytes(64)
    stamp_trailer(bundle)
    error = refused(bundle, keys)
    assert error.code == "unsafe_name"
    assert str(error) == ("同步文件含有不安全或不认识的条目名（条目「parts/00001」重复出现）。"
                          "该文件可能不是本系统导出的，请向导出方核实。")


def test_attachment_entries_only_decrypt_under_their_own_number(keys: Keys) -> None:
    key = b"k" * 32
    sealed = b"".join(crypto.seal_stream(key, crypto.nonce(crypto.ATTACHMENT_NONCE, 1), b"aad", [b"abc"]))
    out: list[bytes] = []
    crypto.open_stream(key, crypto.nonce(crypto.ATTACHMENT_NONCE, 1), b"aad", [sealed[:2], sealed[2:]],
                       out.append, "附件")
    assert b"".join(out) == b"abc"
    with pytest.raises(SyncError) as caught:
        crypto.open_stream(key, crypto.nonce(crypto.ATTACHMENT_NONCE, 2), b"aad", [sealed], out.append, "附件「x」")
    assert str(caught.value) == UNDECRYPTABLE.format("附件「x」无法通过完整性校验")
    with pytest.raises(SyncError):
        crypto.open_stream(key, crypto.nonce(crypto.ATTACHMENT_NONCE, 1), b"aad", [sealed[:10]], out.append, "附件")


# -- anything at all --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(keys: Keys, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    files = [attachment_file(folder, "scan.jpg", 300, seed=1)]
    write_bundle(folder / "s.xab", EnvelopeDraft(kind="data"), [realistic_rows(3), realistic_rows(2, seed=2)],
                 files, keys.township, keys.county.public())
    return folder / "s.xab"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.floats(0, 1),
                                st.integers(1, 255)), min_size=1, max_size=4),
       restamp=st.booleans())
def test_arbitrary_edits_only_ever_raise_sync_errors(small: Path, keys: Keys, tmp_path: Path, edits,
                                                     restamp: bool) -> None:
    """Random damage, with the trailer digest recomputed half the time so the edits reach the zip
    parser and the envelope: the reader refuses with a SyncError and never crashes with anything else,
    or — for edits that touch nothing authenticated (bytes prepended, zip metadata) — opens with exactly
    the original envelope and rows."""
    original = small.read_bytes()
    data = bytearray(original)
    for action, where, value in edits:
        at = min(int(where * len(data)), len(data) - 1)
        if action == "flip":
            data[at] ^= value
        elif action == "insert":
            data[at:at] = bytes([value])
        else:
            del data[at]
    path = tmp_path / "fuzz.xab"
    path.write_bytes(bytes(data))
    if restamp and bytes(data[-75:-64]) == b"XAB-SHA256:":
        stamp_trailer(path)
    try:
        opened = open_bundle(path, keys.county, keys.known)
    except SyncError:
        return
    with opened, open_bundle(small, keys.county, keys.known) as reference:
        assert opened.envelope == reference.envelope
        assert list(opened.iter_parts()) == list(reference.iter_parts())

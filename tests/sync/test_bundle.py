"""Bundle files that should open: round trips, streaming, progress and cancel, size, golden files."""

from __future__ import annotations

import json
import time
import tracemalloc
import zipfile
from datetime import date
from pathlib import Path

import pytest
import zstandard

from app.sync import bundle as bundle_module
from app.sync import crypto
from app.sync.bundle import (
    FORMAT_VERSION,
    EnvelopeDraft,
    bundle_file_name,
    check_bundle,
    decompress_part,
    open_bundle,
    peek_envelope,
    write_bundle,
)
from app.sync.errors import SyncError
from app.sync.keys import KeyPair, PublicKeys
from tests.sync.bundle_kit import attachment_file, ndjson_size, realistic_rows

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def township() -> KeyPair:
    return KeyPair.generate("twp-001-pc1")


@pytest.fixture(scope="module")
def county() -> KeyPair:
    return KeyPair.generate("county")


@pytest.fixture
def known(township: KeyPair):
    return {township.node_id: township.public()}.get


def draft(**changes) -> EnvelopeDraft:
    fields = {"kind": "data", "township": "twp-001", "seq_from": 1, "seq_to": 1200,
              "ack": {"downstream": 7}, "meta": {"说明": "三月份数据", "app": "0.9"}}
    return EnvelopeDraft(**{**fields, **changes})


def test_round_trip_keeps_rows_attachments_and_envelope(tmp_path: Path, township, county, known) -> None:
    rows = realistic_rows(1200)
    scan = attachment_file(tmp_path, "scan.jpg", 300_000, seed=1)
    photo = attachment_file(tmp_path, "photo.jpg", 5, seed=2)
    # one list too long for a part, one empty list, one short list; an attachment referenced twice
    parts = [rows[:1100], [], rows[1100:]]
    written = write_bundle(tmp_path / "b.xab", draft(), parts, [scan, photo, scan], township, county.public())

    assert [part.rows for part in written.parts] == [500, 500, 100, 100]
    assert [part.name for part in written.parts] == ["parts/00001", "parts/00002", "parts/00003", "parts/00004"]
    assert [item.sha256 for item in written.attachments] == [scan[0], photo[0]]
    assert written.rows == 1200
    with open_bundle(tmp_path / "b.xab", county, known) as opened:
        assert opened.envelope == written
        assert [row for _, part in opened.iter_parts() for row in part] == rows
        for sha256, source in (scan, photo):
            target = opened.extract_attachment(sha256, tmp_path / f"out-{sha256[:8]}")
            assert target.read_bytes() == source.read_bytes()
    envelope = opened.envelope
    assert (envelope.format, envelope.kind, envelope.sender, envelope.recipient) == (
        FORMAT_VERSION, "data", "twp-001-pc1", "county")
    assert (envelope.township, envelope.seq_from, envelope.seq_to) == ("twp-001", 1, 1200)
    assert envelope.ack == {"downstream": 7} and envelope.meta == {"说明": "三月份数据", "app": "0.9"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["b.xab", "scan.jpg", "photo.jpg", f"out-{scan[0][:8]}", f"out-{photo[0][:8]}"])


def test_envelope_may_be_a_dict_and_the_writer_fills_ids_and_time(tmp_path: Path, township, county) -> None:
    written = write_bundle(tmp_path / "b.xab", {"kind": "return"}, [], [], township, county.public())
    assert written.kind == "return" and written.parts == [] and written.attachments == []
    assert written.created_at.endswith("+00:00") and len(written.bundle_id) == 36
    assert written.ack == {} and written.meta == {} and (written.seq_from, written.seq_to) == (0, 0)
    other = write_bundle(tmp_path / "c.xab", {"kind": "return"}, [], [], township, county.public())
    assert other.bundle_id != written.bundle_id


def test_draft_naming_another_sender_or_recipient_is_a_programming_error(tmp_path: Path, township, county) -> None:
    with pytest.raises(ValueError, match="sender"):
        write_bundle(tmp_path / "b.xab", draft(sender="someone"), [], [], township, county.public())
    with pytest.raises(ValueError, match="recipient"):
        write_bundle(tmp_path / "b.xab", draft(recipient="county-2"), [], [], township, county.public())
    for bad in (draft(seq_from=5, seq_to=4), draft(kind="Data!"), draft(bundle_id="b-1"), draft(seq_to=-1),
                draft(meta=["not", "a", "dict"])):
        with pytest.raises(ValueError, match="bad envelope draft"):
            write_bundle(tmp_path / "b.xab", bad, [], [], township, county.public())
    with pytest.raises(TypeError, match="dicts"):
        write_bundle(tmp_path / "b.xab", draft(), [[["not", "a", "dict"]]], [], township, county.public())
    assert list(tmp_path.iterdir()) == []


def test_peek_reads_the_envelope_without_any_key(tmp_path: Path, township, county) -> None:
    written = write_bundle(tmp_path / "b.xab", draft(kind="enrolment", meta={"public": township.public().to_dict()}),
                           [], [], township, county.public())
    peeked = peek_envelope(tmp_path / "b.xab")
    assert peeked == written
    assert peeked.meta["public"]["node_id"] == "twp-001-pc1"


def test_enrolment_bootstrap_verifies_with_keys_carried_in_the_envelope(tmp_path: Path, county) -> None:
    newcomer = KeyPair.generate("twp-009-pc1")
    path = tmp_path / "request.xab"
    write_bundle(path, draft(kind="enrolment", meta={"public": newcomer.public().to_dict()}), [], [],
                 newcomer, county.public())
    carried = PublicKeys.from_dict(peek_envelope(path).meta["public"])
    with open_bundle(path, county, lambda node: carried if node == carried.node_id else None) as opened:
        assert opened.envelope.sender == "twp-009-pc1"


def test_check_bundle_is_what_the_sender_can_verify(tmp_path: Path, township, county) -> None:
    written = write_bundle(tmp_path / "b.xab", draft(), [realistic_rows(10)], [], township, county.public())
    assert check_bundle(tmp_path / "b.xab", township.public()) == written


def test_skipped_parts_are_not_returned(tmp_path: Path, township, county, known) -> None:
    rows = realistic_rows(1200)
    write_bundle(tmp_path / "b.xab", draft(), [rows], [], township, county.public())
    with open_bundle(tmp_path / "b.xab", county, known) as opened:
        rest = list(opened.iter_parts(skip={"parts/00001", "parts/00002"}))
    assert [part.name for part, _ in rest] == ["parts/00003"]
    assert rest[0][1] == rows[1000:]


def test_progress_counts_rows_and_attachments_up_to_the_total(tmp_path: Path, township, county) -> None:
    calls: list[tuple[int, int]] = []
    scan = attachment_file(tmp_path, "scan.jpg", 1000, seed=3)
    write_bundle(tmp_path / "b.xab", draft(), [realistic_rows(1200)], [scan], township, county.public(),
                 progress=lambda done, total: calls.append((done, total)), total_rows=1200)
    assert calls == [(500, 1201), (1000, 1201), (1200, 1201), (1201, 1201)]


def test_cancel_mid_write_leaves_no_file_and_keeps_an_older_one(tmp_path: Path, township, county) -> None:
    target = tmp_path / "b.xab"
    target.write_bytes(b"an earlier export")
    seen: list[int] = []
    with pytest.raises(SyncError) as caught:
        write_bundle(target, draft(), [realistic_rows(2000)], [], township, county.public(),
                     progress=lambda done, total: seen.append(done), cancelled=lambda: len(seen) >= 2)
    assert caught.value.code == "cancelled"
    assert str(caught.value) == "已取消，未生成同步文件。需要时请重新操作。"
    assert seen == [500, 1000]
    assert [p.name for p in tmp_path.iterdir()] == ["b.xab"]
    assert target.read_bytes() == b"an earlier export"


def test_cancel_during_a_large_attachment_leaves_nothing(tmp_path: Path, township, county) -> None:
    scan = attachment_file(tmp_path, "scan.jpg", 3 * crypto.CHUNK, seed=4)
    chunks_read = []
    with pytest.raises(SyncError) as caught:
        write_bundle(tmp_path / "b.xab", draft(), [], [scan], township, county.public(),
                     cancelled=lambda: chunks_read.append(1) or len(chunks_read) > 2)
    assert caught.value.code == "cancelled"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.jpg"]


def test_missing_or_changed_attachment_fails_cleanly(tmp_path: Path, township, county) -> None:
    sha256, source = attachment_file(tmp_path, "scan.jpg", 1000, seed=5)
    source.write_bytes(b"edited behind the app's back")
    with pytest.raises(SyncError) as changed:
        write_bundle(tmp_path / "b.xab", draft(), [], [(sha256, source)], township, county.public())
    assert changed.value.code == "write_failed"
    assert "本机附件「scan.jpg」的内容与登记的校验值不一致" in str(changed.value)
    source.unlink()
    with pytest.raises(SyncError) as missing:
        write_bundle(tmp_path / "b.xab", draft(), [], [(sha256, source)], township, county.public())
    assert missing.value.code == "write_failed"
    assert str(missing.value).startswith("同步文件写入失败（b.xab：")
    assert list(tmp_path.iterdir()) == []


def test_read_back_catches_a_stick_that_corrupts_what_was_written(tmp_path: Path, township, county,
                                                                 monkeypatch) -> None:
    def bad_stick(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0x10
        path.write_bytes(bytes(data))

    monkeypatch.setattr(bundle_module, "_drop_cache", bad_stick)
    with pytest.raises(SyncError) as caught:
        write_bundle(tmp_path / "b.xab", draft(), [realistic_rows(600)], [], township, county.public())
    assert caught.value.code == "write_failed"
    assert "写入后读回校验不一致，U盘可能有质量问题" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # a broken bundle must not travel


def test_every_entry_gets_its_own_nonce_and_every_bundle_its_own_key(tmp_path: Path, township, county,
                                                                     monkeypatch) -> None:
    used: list[tuple[bytes, bytes]] = []
    real_seal, real_stream = crypto.seal, crypto.seal_stream
    monkeypatch.setattr(crypto, "seal", lambda key, nonce, aad, plain: used.append((key, nonce)) or real_seal(
        key, nonce, aad, plain))
    monkeypatch.setattr(crypto, "seal_stream", lambda key, nonce, aad, chunks: used.append((key, nonce)) or
                        real_stream(key, nonce, aad, chunks))
    files = [attachment_file(tmp_path, f"a{n}", 100, seed=n) for n in range(3)]
    for name in ("one.xab", "two.xab"):
        write_bundle(tmp_path / name, draft(), [realistic_rows(1500)], files, township, county.public())
    assert len(used) == 2 * (3 + 3)
    assert len(set(used)) == len(used)
    assert len({key for key, _ in used}) == 2
    first_bundle_nonces = [nonce for _, nonce in used[:6]]
    assert len(set(first_bundle_nonces)) == 6


def test_a_part_only_decrypts_under_its_own_bundle_and_name() -> None:
    key = b"k" * 32
    nonce = crypto.nonce(crypto.PART_NONCE, 1)
    sealed = crypto.seal(key, nonce, crypto.entry_aad("bundle-a", "parts/00001"), b"rows")
    assert crypto.open_sealed(key, nonce, crypto.entry_aad("bundle-a", "parts/00001"), sealed, "x") == b"rows"
    for aad in (crypto.entry_aad("bundle-b", "parts/00001"), crypto.entry_aad("bundle-a", "parts/00002")):
        with pytest.raises(SyncError) as caught:
            crypto.open_sealed(key, nonce, aad, sealed, "数据分段「parts/00001」")
        assert caught.value.code == "decrypt_failed"
        assert "数据分段「parts/00001」无法通过完整性校验" in str(caught.value)


def test_entries_are_stored_not_recompressed(tmp_path: Path, township, county) -> None:
    scan = attachment_file(tmp_path, "scan.jpg", 50_000, seed=6)
    write_bundle(tmp_path / "b.xab", draft(), [realistic_rows(10)], [scan], township, county.public())
    with zipfile.ZipFile(tmp_path / "b.xab") as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        stored = archive.getinfo(f"attachments/{scan[0]}")
    assert stored.file_size == 50_000 + crypto.TAG_BYTES  # not grown beyond the GCM tag
    assert b"responsible_phone" not in (tmp_path / "b.xab").read_bytes()  # rows are encrypted


def test_bundle_file_name() -> None:
    assert bundle_file_name("410102001", 121, 480, date(2026, 3, 9)) == "410102001-121-480-20260309.xab"
    assert bundle_file_name("东山镇/../x", 0, 0, date(2026, 1, 2)) == "东山镇____x-0-0-20260102.xab"


def test_zstd_output_is_capped_whatever_the_frame_claims() -> None:
    bomb = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(50_000_000))
    with pytest.raises(SyncError) as unknown_size:
        decompress_part(bomb, 1000)
    assert unknown_size.value.code == "damaged"
    assert "数据分段的解压大小与清单不符" in str(unknown_size.value)
    honest = zstandard.ZstdCompressor(write_content_size=True).compress(bytes(50_000_000))
    with pytest.raises(SyncError) as too_big:
        decompress_part(honest, 50_000_000, bundle_module.Limits(max_part_raw_bytes=1_000_000))
    assert too_big.value.code == "too_large"
    with pytest.raises(SyncError) as lying:
        decompress_part(honest, 1000)
    assert lying.value.code == "damaged"
    with pytest.raises(SyncError) as garbage:
        decompress_part(b"not zstd at all", 10)
    assert "数据分段无法解压" in str(garbage.value)


def test_realistic_rows_shrink_below_30_percent(tmp_path: Path, township, county) -> None:
    rows = realistic_rows(10_000)
    written = write_bundle(tmp_path / "b.xab", draft(), [rows], [], township, county.public())
    raw = ndjson_size(rows)
    parts = sum(part.size for part in written.parts)
    whole = (tmp_path / "b.xab").stat().st_size
    print(f"\n10k rows: NDJSON {raw} B, parts {parts} B ({parts / raw:.1%}), file {whole} B ({whole / raw:.1%})")
    assert parts <= 0.30 * raw and whole <= 0.30 * raw


@pytest.mark.slow
def test_100k_rows_stream_with_bounded_memory(tmp_path: Path, township, county, known) -> None:
    """100k rows go through in ~one part's worth of memory, not the bundle's (~11 MB) or the rows'
    (~100 MB of NDJSON). The same 500 realistic rows form every part, so only the bundle code allocates."""
    rows = realistic_rows(500)

    def parts():
        for _ in range(200):
            yield rows

    def write() -> float:
        began = time.perf_counter()
        write_bundle(tmp_path / "big.xab", draft(), parts(), [], township, county.public())
        return time.perf_counter() - began

    def read() -> tuple[float, int]:
        began = time.perf_counter()
        with open_bundle(tmp_path / "big.xab", county, known) as opened:
            count = sum(len(part) for _, part in opened.iter_parts())
        return time.perf_counter() - began, count

    wrote, (took, count) = write(), read()
    tracemalloc.start()
    try:
        write()
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read()
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = (tmp_path / "big.xab").stat().st_size
    print(f"\n100k rows ({ndjson_size(rows) * 200 / 1e6:.0f} MB NDJSON): file {size / 1e6:.1f} MB; "
          f"write {100_000 / wrote:,.0f} rows/s (incl. fsync and read-back check); "
          f"read {100_000 / took:,.0f} rows/s (incl. full verification); "
          f"peak traced memory: write {write_peak / 1e6:.1f} MB, read {read_peak / 1e6:.1f} MB")
    assert count == 100_000
    assert write_peak < 16e6 and read_peak < 16e6


def test_golden_bundles_of_every_format_still_open(tmp_path: Path) -> None:
    """Each format version ever released keeps a golden file; new code must keep opening all of them.
    Regenerate only on a deliberate format change: ``.venv/bin/python tests/sync/golden/make_golden.py``."""
    keys = json.loads((GOLDEN / "keys.json").read_text(encoding="utf-8"))
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    sender, recipient = KeyPair.from_dict(keys["sender"]), KeyPair.from_dict(keys["recipient"])
    goldens = sorted(GOLDEN.glob("format*.xab"))
    assert [p.name for p in goldens][:1] == ["format1.xab"]
    for path in goldens:
        with open_bundle(path, recipient, {sender.node_id: sender.public()}.get) as opened:
            assert opened.envelope.meta == expected["meta"]
            assert [row for _, rows in opened.iter_parts() for row in rows] == expected["rows"]
            for sha256, text in expected["attachments"].items():
                out = opened.extract_attachment(sha256, tmp_path / sha256)
                assert out.read_text(encoding="utf-8") == text

"""Helpers for the bundle tests: realistic rows, and an independent re-implementation of the file layout
(zip rewriting, trailer digest, envelope re-signing) so tests can forge bundles an attacker could make."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from app.sync.bundle import ENVELOPE_NAME, SIGN_CONTEXT, SIGNATURE_NAME
from app.sync.keys import KeyPair

TRAILER_PREFIX = b"XAB-SHA256:"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕德福春生文斌宏亮"
_PLACES = ["东山村", "西河村", "南岭村", "北坡村", "石桥村", "柳树湾村", "大王庄村", "新华社区", "红旗社区", "杨家坪村"]
_UNITS = ["加油站", "砖瓦厂", "农家乐", "小学", "卫生院", "养殖场", "建材市场", "物流仓库", "液化气站", "幼儿园"]
_PROBLEMS = ["消防通道被杂物堵塞", "灭火器压力不足且未按期检验", "电气线路私拉乱接", "安全出口指示灯损坏",
             "液化气瓶未设置防倾倒措施", "边坡有落石隐患", "河道护栏缺失", "危房未设置警示标志",
             "应急照明不能正常使用", "员工未经安全培训上岗", "堆场临近高压线", "排水沟堵塞汛期易积水"]
_MEASURES = ["立即清理并设置警示标志", "限期七日内整改完毕", "停止使用并更换设备", "安排专人每日巡查",
             "报告县应急管理局备案", "组织全员开展安全培训"]
_STATUSES = ["已登记", "整改中", "待验收", "已销号"]
_LEVELS = ["一般", "一般", "一般", "较大", "重大"]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def realistic_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Rows shaped like a township's synced hazard records (SyncedMixin columns plus the domain fields),
    with realistic entropy: fresh UUIDs, names, phones and free text, shared ids for villages and units."""
    rng = random.Random(seed)
    township = str(uuid.UUID(int=rng.getrandbits(128)))
    replica = str(uuid.UUID(int=rng.getrandbits(128)))
    villages = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in _PLACES]
    enterprises = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(200)]
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    rows = []
    for n in range(count):
        at = start + timedelta(seconds=n * 97 + rng.randrange(90))
        village = rng.randrange(len(_PLACES))
        problem = "，".join(rng.sample(_PROBLEMS, rng.choice((1, 2, 3))))
        rows.append({
            "table": "hazard", "id": str(uuid.UUID(int=rng.getrandbits(128))), "partition": f"twp:{township}",
            "created_at": at.isoformat(), "updated_at": (at + timedelta(hours=rng.randrange(48))).isoformat(),
            "version": rng.randrange(1, 6), "version_replica": replica, "base_version": 0,
            "hlc": f"{int(at.timestamp() * 1000):015d}-{rng.randrange(100):04d}-{replica[:8]}",
            "deleted": False, "township_id": township, "number": f"2026-{n + 1:04d}", "year": 2026,
            "seq": n + 1, "status": rng.choice(_STATUSES), "found_on": at.date().isoformat(),
            "source": "乡镇检查", "inspectors": f"{_name(rng)}、{_name(rng)}", "village_id": villages[village],
            "grid": f"第{rng.randrange(1, 9)}网格", "enterprise_id": rng.choice(enterprises),
            "unit_name": _PLACES[village] + rng.choice(_UNITS), "location": f"{_PLACES[village]}{rng.randrange(1, 300)}号",
            "description": problem, "level": rng.choice(_LEVELS), "measures": rng.choice(_MEASURES),
            "responsible_person": _name(rng), "responsible_phone": _phone(rng),
            "funds_fen": rng.randrange(0, 5_000_000, 100), "deadline": (at + timedelta(days=rng.randrange(3, 60))).date().isoformat(),
        })
    return rows


def ndjson_size(rows: list[dict[str, Any]]) -> int:
    """Raw NDJSON size of rows, serialised the way the writer does (the baseline for the size target)."""
    return sum(len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + 1 for row in rows)


def stamp_trailer(path: Path) -> None:
    """Recompute the trailer digest, as anyone editing a bundle can: SHA-256 of all bytes but the last 64."""
    data = path.read_bytes()
    assert data[-64 - len(TRAILER_PREFIX):-64] == TRAILER_PREFIX
    path.write_bytes(data[:-64] + hashlib.sha256(data[:-64]).hexdigest().encode("ascii"))


def read_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(path: Path, entries: dict[str, bytes], *, trailer: bool = True,
            compress: int = zipfile.ZIP_STORED) -> Path:
    """Write ``entries`` as a fresh zip at ``path`` (in dict order), with a correct trailer if asked."""
    with zipfile.ZipFile(path, "w", compress) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=compress)
        if trailer:
            archive.comment = TRAILER_PREFIX + bytes(64)
    if trailer:
        stamp_trailer(path)
    return path


def envelope_of(path: Path) -> dict[str, Any]:
    return json.loads(read_entries(path)[ENVELOPE_NAME])


def resign(path: Path, signer: KeyPair, change: Callable[[dict[str, Any]], None],
           entries: dict[str, bytes] | None = None) -> Path:
    """Edit the envelope, sign it with ``signer`` (as the real sender could) and rewrite the file."""
    entries = entries if entries is not None else read_entries(path)
    envelope = json.loads(entries[ENVELOPE_NAME])
    change(envelope)
    data = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    entries = {**entries, ENVELOPE_NAME: data, SIGNATURE_NAME: signer.sign(SIGN_CONTEXT, data)}
    return rewrite(path, entries)


def attachment_file(folder: Path, name: str, size: int, seed: int) -> tuple[str, Path]:
    """A file of incompressible bytes (like a JPEG scan) and its SHA-256."""
    data = random.Random(seed).randbytes(size)
    target = folder / name
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), target

"""The demo township's 安全生产目标责任书 for ``today``'s year, in every state of their lifecycle, and a
few accidents — one 一般 accident with a death in an enterprise, so that letter's 一票否决 triggers.

Deterministic: states follow a fixed pattern over the letters in number order; nothing here draws
from the random stream of the rest of the demo."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from app.localtime import CHINA_TZ
from app.models import Accident, Attachment, Letter, LetterAction, LetterStatus, Township
from app.models.letters import content_hash
from app.services.context import Actor, Scope
from app.services.letters import KINDS, GenerationResult, LetterService
from app.storage import Database
from app.storage.attachments import AttachmentStore

S, A = LetterStatus, LetterAction
# Per counterparty type, letters in number order take these states in turn: every state appears as soon
# as a type has five letters, and about half are signed.
_PATTERN = (S.ARCHIVED, S.SCANNED, S.SIGNED, S.PRINTED, S.DRAFT, S.SCANNED, S.SIGNED, S.PRINTED, S.ARCHIVED,
            S.DRAFT)
_ORDER = [s for s in S]


def add_demo_letters(session: Session, db: Database, actor: Actor, scope: Scope, today: date) -> dict[str, int]:
    """Letters and accidents for the demo township already flushed in ``session``; returns row counts."""
    year = today.year
    letters = LetterService(db, actor, scope, today=lambda: today)
    result = GenerationResult(year)
    letters.generate_in(session, year, KINDS, result, username=actor.username,
                        at=datetime(year, 1, 1, 9, 0, tzinfo=CHINA_TZ) - timedelta(days=10))
    township = session.get(Township, scope.township_id)
    leader = township.leader_name if township else ""
    scan = _scan(db)
    rows = [session.get(Letter, letter_id) for letter_id in result.letter_ids]
    by_kind = {kind: [x for x in rows if x is not None and x.counterparty_kind == kind] for kind in KINDS}
    season = max(0, min((today - date(year, 1, 1)).days, 75))  # letters are signed in the first quarter
    signed_first: Letter | None = None
    for kind, items in by_kind.items():
        for i, letter in enumerate(items):
            target = _PATTERN[i % len(_PATTERN)]
            _advance(letters, session, letter, target, leader, date(year, 1, 1) + timedelta(days=season * i // max(1, len(items))),
                     scan, actor.username)
            if kind == "enterprise" and target is S.SIGNED and signed_first is None:
                signed_first = letter
    superseded = 0
    if signed_first is not None:  # a correction: the legal representative changed after signing
        letters.supersede_in(session, signed_first, "法定代表人变更，重新签订", username=actor.username)
        superseded = 1
    accidents = _accidents(session, scope, today, by_kind)
    session.flush()
    return {"letter": len(rows) + superseded, "accident": accidents}


def _scan(db: Database) -> Attachment | None:
    """One small image standing in for a scanned signed letter (stored once, by hash)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "责任书扫描件.png"
        image = Image.new("L", (210, 297), 255)
        for y in range(40, 260, 12):
            for x in range(25, 185):
                image.putpixel((x, y), 120)
        image.save(path)
        stored = AttachmentStore(db.attachments_dir).put(path, images_only=True, field="scan", label="扫描件")
    return Attachment(owner_table="letter", role="scan", sha256=stored.sha256, file_name=stored.file_name,
                      media_type=stored.media_type, size=stored.size)


def _advance(letters: LetterService, session: Session, letter: Letter, target: LetterStatus, leader: str,
             signed_on: date, scan: Attachment | None, username: str) -> None:
    steps = _ORDER[1 : _ORDER.index(target) + 1]
    moment = datetime(signed_on.year, signed_on.month, signed_on.day, 9, 0, tzinfo=CHINA_TZ) - timedelta(days=3)
    for status in steps:
        moment += timedelta(days=3 if status is S.ARCHIVED else 1, hours=1)
        before = letter.status
        letter.status = status.value
        data: dict[str, str] = {}
        if status is S.PRINTED:
            action = A.PRINT
        elif status is S.SIGNED:
            action = A.SIGN
            letter.signed_on, letter.signed_by_a = signed_on, leader or "镇长"
            letter.signed_by_b = letter.content["party_b"]["person"]
            letter.content_sha256 = content_hash(letter.content)
            data = {"signed_on": signed_on.isoformat(), "signed_by_a": letter.signed_by_a,
                    "signed_by_b": letter.signed_by_b, "content_sha256": letter.content_sha256}
        elif status is S.SCANNED:
            action = A.SCAN
            if scan is not None:
                session.add(Attachment(township_id=letter.township_id, partition=letter.partition,
                                       owner_table="letter", owner_id=letter.id, role="scan", sha256=scan.sha256,
                                       file_name=f"{letter.counterparty_name}-签订扫描件.png",
                                       media_type=scan.media_type, size=scan.size))
                data = {"file_name": f"{letter.counterparty_name}-签订扫描件.png", "sha256": scan.sha256}
        else:
            action = A.ARCHIVE
            letter.archived_on = moment.date()
        letters.record_event(session, letter, action, before, letter.status, data=data, username=username, at=moment)


def _at(today: date, fraction: float, hour: int, minute: int) -> datetime:
    start = date(today.year, 1, 1)
    day = start + timedelta(days=int((today - start).days * fraction))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA_TZ)


def _accidents(session: Session, scope: Scope, today: date, by_kind: dict[str, list[Letter]]) -> int:
    owned = {"township_id": scope.township_id, "partition": scope.partition}
    enterprises = [x for x in by_kind.get("enterprise", []) if x.status in (S.ARCHIVED.value, S.SCANNED.value)]
    villages = by_kind.get("village", [])
    rows: list[Accident] = []
    if enterprises:
        e = enterprises[0]  # an archived letter: its 一票否决 triggers at the year-end 考核
        occurred = _at(today, 0.45, 10, 20)
        rows.append(Accident(**owned, occurred_at=occurred, place=f"{e.counterparty_name}生产车间",
                             unit_name=e.counterparty_name, enterprise_id=e.counterparty_id,
                             category="生产安全事故", deaths=1, serious_injuries=0, direct_loss_fen=1_350_000_00,
                             account="作业人员在设备检修时未执行停机挂牌制度，被卷入传送带，经抢救无效死亡。",
                             reported_at=occurred + timedelta(minutes=42)))
    if len(enterprises) > 1:
        e = enterprises[1]
        occurred = _at(today, 0.3, 15, 5)
        rows.append(Accident(**owned, occurred_at=occurred, place=f"{e.counterparty_name}仓库",
                             unit_name=e.counterparty_name, enterprise_id=e.counterparty_id,
                             category="生产安全事故", deaths=0, serious_injuries=0, direct_loss_fen=8_000_00,
                             account="叉车搬运时货物倾倒，砸坏货架，无人员伤亡。",
                             reported_at=occurred + timedelta(minutes=35)))
    if villages:
        v = villages[min(1, len(villages) - 1)]
        occurred = _at(today, 0.15, 19, 40)
        rows.append(Accident(**owned, occurred_at=occurred, place=f"{v.counterparty_name}村民住宅",
                             village_id=v.counterparty_id, category="火灾", deaths=0, serious_injuries=0,
                             direct_loss_fen=26_000_00, account="村民厨房用火不慎引发房屋火灾，明火约半小时扑灭，无人员伤亡。",
                             reported_at=occurred + timedelta(minutes=20)))
        v = villages[-1]
        occurred = _at(today, 0.6, 8, 15)
        rows.append(Accident(**owned, occurred_at=occurred, place=f"{v.counterparty_name}村道",
                             village_id=v.counterparty_id, category="道路交通事故", deaths=0, serious_injuries=0,
                             direct_loss_fen=3_500_00, account="农用三轮车与摩托车刮擦，两车受损，无人员受伤。",
                             reported_at=occurred + timedelta(minutes=50)))
    for a in rows:
        a.regrade()
    session.add_all(rows)
    return len(rows)

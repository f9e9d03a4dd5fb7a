"""Printed documents made from the registers (the PDF layout itself lives in app.documents)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from app.documents.roster_pdf import RosterHeader, VillageLine, write_village_roster
from app.models.audit import record_event
from app.services.context import Actor, Scope
from app.services.organisation import VILLAGES, TownshipService
from app.services.registers import RegisterService
from app.storage import Database


class ReportService:
    def __init__(self, db: Database, actor: Actor, scope: Scope) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope

    def village_roster(self, path: str | os.PathLike[str], made_on: date | None = None,
                       audit: bool = True) -> int:
        """Write 村（社区）基本情况表 as a PDF; return how many villages/communities it lists.

        Ordered by division code (the county's order), villages without a code last by name.
        ``audit=False`` only for the installation self-test, whose scratch copy leaves the app nowhere."""
        profile = TownshipService(self.db, self.actor).profile()
        header = RosterHeader(
            township=profile.get("name") or self.scope.township_name,
            county=profile.get("county_name") or "",
            office=profile.get("office_name") or "",
            office_phone=profile.get("office_phone") or "",
        )
        rows = RegisterService(self.db, self.actor, self.scope, VILLAGES).rows()
        rows.sort(key=lambda r: (not r.get("code"), r.get("code") or "", r.get("name") or ""))
        lines = [
            VillageLine(
                name=r.get("name") or "", kind=r.get("kind") or "", code=r.get("code") or "",
                population=r.get("population"), households=r.get("households"), grid_count=r.get("grid_count"),
                head_name=r.get("head_name") or "", head_phone=r.get("head_phone") or "",
            )
            for r in rows
        ]
        written = write_village_roster(path, header, lines, made_on)
        if not audit:
            return len(lines)
        with self.db.session(self.actor.username) as session:  # names and phone numbers left the app
            record_event(session, "export", f"导出村（社区）基本情况表（{len(lines)}个）到「{Path(written).name}」",
                         entity="village")
        return len(lines)

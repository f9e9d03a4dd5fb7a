"""Use cases the UI and the command line both call. They own the transaction, enforce roles, and
return plain data or raise an XiangAnError whose text names the field and the problem. No Qt."""

from __future__ import annotations

from functools import cached_property

from app.errors import XiangAnError
from app.services.accounts import AccountService
from app.services.context import Actor, Scope
from app.services.dashboard import DashboardService
from app.services.hazards import HazardService
from app.services.letters import AccidentService, LetterService
from app.services.organisation import REGISTERS, TownshipService, current_scope
from app.services.readiness import ReadinessService
from app.services.record_attachments import RecordAttachmentService
from app.services.registers import RegisterService
from app.storage import Database


class Services:
    """Everything one logged-in person can do, bound to the database and their account."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self.accounts = AccountService(db)
        self.township = TownshipService(db, actor)

    @cached_property
    def scope(self) -> Scope:
        scope = current_scope(self.db)
        if scope is None:
            raise XiangAnError("尚未填写乡镇信息，请先在「组织机构 → 乡镇信息」中填写。")
        return scope

    def refresh_scope(self) -> None:
        self.__dict__.pop("scope", None)

    def register(self, kind: str) -> RegisterService:
        return RegisterService(self.db, self.actor, self.scope, REGISTERS[kind])

    def attachments(self, kind: str) -> RecordAttachmentService:
        """Files attached to the rows of register ``kind`` (scans, photos, plan texts)."""
        return RecordAttachmentService(self.db, self.actor, self.scope, REGISTERS[kind])

    @property
    def readiness(self) -> ReadinessService:
        return ReadinessService(self.db, self.actor, self.scope)

    @property
    def dashboard(self) -> DashboardService:
        return DashboardService(self.db, self.scope)

    @property
    def hazards(self) -> HazardService:
        return HazardService(self.db, self.actor, self.scope)

    @property
    def letters(self) -> LetterService:
        return LetterService(self.db, self.actor, self.scope)

    @property
    def accidents(self) -> AccidentService:
        return AccidentService(self.db, self.actor, self.scope)


__all__ = ["Services"]

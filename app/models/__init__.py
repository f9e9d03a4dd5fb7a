"""ORM tables and the domain rules that belong to them. Never imports Qt.

Importing this package registers every table on ``Base.metadata`` and installs the flush hook.
"""

from app.models import tracking  # noqa: F401  (installs the before_flush hook)
from app.models.accounts import ROLE_LABELS, Role, User
from app.models.attachments import Attachment
from app.models.audit import AuditEntry
from app.models.base import Base, SyncedMixin, new_id, utcnow
from app.models.config_data import COUNTY_PARTITION, ConfigDocument, Sector
from app.models.hazards import Hazard, HazardAction, HazardEvent, HazardStatus
from app.models.letters import Accident, Letter, LetterAction, LetterEvent, LetterStatus
from app.models.organisation import Contact, Enterprise, Township, TownshipUnit, Village
from app.models.readiness import ReadinessAssessment
from app.models.registers import (
    CallTreeEntry,
    CommandEquipment,
    CommTest,
    Drill,
    EmergencyPlan,
    OrgDocument,
    RescueTeam,
    Shelter,
    Supply,
    TeamMember,
)
from app.models.settings import LocalSetting
from app.models.sync_state import (
    SupervisionOrder,
    SyncAttachmentHeld,
    SyncCapturePause,
    SyncChange,
    SyncConflict,
    SyncCursor,
    SyncIdentity,
    SyncLedger,
    SyncLedgerPart,
    SyncOutbox,
    SyncPeer,
    SyncTownship,
)

__all__ = [
    "COUNTY_PARTITION",
    "ROLE_LABELS",
    "Accident",
    "Attachment",
    "AuditEntry",
    "Base",
    "CallTreeEntry",
    "CommTest",
    "CommandEquipment",
    "ConfigDocument",
    "Contact",
    "Drill",
    "EmergencyPlan",
    "Enterprise",
    "Hazard",
    "HazardAction",
    "HazardEvent",
    "HazardStatus",
    "Letter",
    "LetterAction",
    "LetterEvent",
    "LetterStatus",
    "LocalSetting",
    "OrgDocument",
    "ReadinessAssessment",
    "RescueTeam",
    "Role",
    "Sector",
    "Shelter",
    "SupervisionOrder",
    "Supply",
    "SyncAttachmentHeld",
    "SyncCapturePause",
    "SyncChange",
    "SyncConflict",
    "SyncCursor",
    "SyncIdentity",
    "SyncLedger",
    "SyncLedgerPart",
    "SyncOutbox",
    "SyncPeer",
    "SyncTownship",
    "SyncedMixin",
    "TeamMember",
    "Township",
    "TownshipUnit",
    "User",
    "Village",
    "new_id",
    "utcnow",
]

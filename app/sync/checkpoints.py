"""Named persistence boundaries of a sync, where tests inject crashes.

Production code calls ``crash_point(name)`` right after each boundary (a part committed, a ledger entry
written, a file renamed). It does nothing; crash-injection tests replace it (monkeypatch
``app.sync.checkpoints.crash_point``) with a function that raises at the boundary they want.
"""

from __future__ import annotations

POINTS = (
    "county.verified",          # bundle and every part's partitions checked, nothing written yet
    "county.attachments",       # attachment files extracted into the store
    "county.part_applied",      # one part's rows + its ledger entry committed
    "county.committed",         # ledger entry + cursor + pinned keys committed
    "county.return_written",    # return file renamed into place
    "township.exported",        # bundle file renamed into place, before the ledger entry
    "township.export_logged",   # outgoing ledger entry committed
    "township.verified",
    "township.attachments",
    "township.part_applied",
    "township.committed",
)


def crash_point(name: str) -> None:
    """No-op at run time; the hook crash tests patch."""

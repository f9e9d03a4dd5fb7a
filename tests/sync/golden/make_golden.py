"""Write the golden bundle of the current format version (only on a deliberate format change).

    .venv/bin/python tests/sync/golden/make_golden.py [--force]

Old golden files are never replaced: they prove bundles written by older releases still open. The keys
in keys.json are test keys made for these files only."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from app.sync.bundle import FORMAT_VERSION, EnvelopeDraft, write_bundle  # noqa: E402
from app.sync.keys import KeyPair  # noqa: E402


def main(force: bool) -> Path:
    target = HERE / f"format{FORMAT_VERSION}.xab"
    if target.exists() and not force:
        raise SystemExit(f"{target.name} exists; pass --force only if format {FORMAT_VERSION} never shipped")
    keys_file, expected_file = HERE / "keys.json", HERE / "expected.json"
    if keys_file.exists():
        keys = json.loads(keys_file.read_text(encoding="utf-8"))
        sender, recipient = KeyPair.from_dict(keys["sender"]), KeyPair.from_dict(keys["recipient"])
    else:
        sender, recipient = KeyPair.generate("golden-township-pc1"), KeyPair.generate("golden-county")
        keys_file.write_text(json.dumps({"sender": sender.to_dict(), "recipient": recipient.to_dict()},
                                        indent=2) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    attachments = []
    for sha256, text in expected["attachments"].items():
        source = HERE / f"attachment-{sha256[:12]}.txt"
        source.write_text(text, encoding="utf-8")
        assert hashlib.sha256(source.read_bytes()).hexdigest() == sha256
        attachments.append((sha256, source))
    try:
        rows = expected["rows"]
        write_bundle(target, EnvelopeDraft(kind="data", township="golden", seq_from=1, seq_to=len(rows),
                                           meta=expected["meta"]), [rows[:3], rows[3:]], attachments,
                     sender, recipient.public())
    finally:
        for _, source in attachments:
            source.unlink()
    return target


if __name__ == "__main__":
    print(main("--force" in sys.argv[1:]))

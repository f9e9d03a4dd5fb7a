"""Resource limits a bundle must respect before anything in it is read, decompressed or decrypted."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
ROWS_PER_PART = 500


@dataclass(frozen=True)
class Limits:
    """Upper bounds checked against the zip directory and the envelope before allocating anything.

    The defaults are far above what a real township produces (a month is ≈2,000 records and 300 scans)
    and far below what would exhaust a county PC. ``max_file_bytes`` is FAT32's largest file: most USB
    sticks are formatted that way, so a bigger bundle could not be carried anyway."""

    max_file_bytes: int = 4 * 1024 * MIB - 1
    max_entries: int = 20_000
    max_envelope_bytes: int = 16 * MIB
    max_part_bytes: int = 64 * MIB  # encrypted, compressed size of one part
    max_part_raw_bytes: int = 64 * MIB  # its NDJSON after decompression: the hard output cap
    max_part_ratio: int = 1_000  # raw / compressed; real parts compress 5-20×
    max_entry_ratio: int = 100  # zip level: entries are stored, so any real ratio means a forged file
    max_attachment_bytes: int = 64 * MIB  # the app itself refuses attachments over 30 MB
    max_rows_per_part: int = ROWS_PER_PART
    # Bytes a central-directory record may take (46 fixed + name + extra + comment); with max_entries
    # this bounds the memory the zip reader spends on the directory before any entry is looked at.
    max_directory_record: int = 46 + 100 + 64


DEFAULT_LIMITS = Limits()

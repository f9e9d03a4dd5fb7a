"""AES-256-GCM for bundle entries: one fresh key per bundle, a unique nonce per entry, AAD naming the entry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.sync.errors import SyncError

TAG_BYTES = 16
CHUNK = 1024 * 1024
# Nonce = 4-byte entry kind + 8-byte entry number. Each bundle has its own random key and numbers its
# entries once, so no (key, nonce) pair is ever used twice — no reliance on random nonces not colliding.
PART_NONCE = b"part"
ATTACHMENT_NONCE = b"atch"


def nonce(kind: bytes, number: int) -> bytes:
    return kind + number.to_bytes(8, "big")


def entry_aad(bundle_id: str, name: str) -> bytes:
    """Bind an entry to its bundle and its name: a part moved to another place or bundle fails to decrypt."""
    return b"xiangan/bundle-entry/1\x00" + bundle_id.encode("utf-8") + b"\x00" + name.encode("utf-8")


def seal(key: bytes, entry_nonce: bytes, aad: bytes, plain: bytes) -> bytes:
    """Ciphertext followed by the 16-byte tag."""
    return AESGCM(key).encrypt(entry_nonce, plain, aad)


def open_sealed(key: bytes, entry_nonce: bytes, aad: bytes, sealed: bytes, what: str) -> bytes:
    try:
        return AESGCM(key).decrypt(entry_nonce, sealed, aad)
    except InvalidTag as exc:
        raise SyncError("decrypt_failed", f"{what}无法通过完整性校验") from exc


def seal_stream(key: bytes, entry_nonce: bytes, aad: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``seal`` for data too big to hold at once (attachments): yields ciphertext pieces, then the tag."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(entry_nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    for chunk in chunks:
        yield encryptor.update(chunk)
    yield encryptor.finalize() + encryptor.tag


def open_stream(key: bytes, entry_nonce: bytes, aad: bytes, chunks: Iterable[bytes],
                write: Callable[[bytes], object], what: str) -> None:
    """Decrypt a ``seal_stream`` result piece by piece into ``write``; raises after the last piece when
    the tag does not match, so the caller must treat everything written as provisional until it returns."""
    decryptor = Cipher(algorithms.AES(key), modes.GCM(entry_nonce)).decryptor()
    decryptor.authenticate_additional_data(aad)
    tail = b""
    for chunk in chunks:
        held = tail + chunk
        if len(held) > TAG_BYTES:
            write(decryptor.update(held[:-TAG_BYTES]))
            tail = held[-TAG_BYTES:]
        else:
            tail = held
    try:
        if len(tail) != TAG_BYTES:
            raise InvalidTag
        write(decryptor.finalize_with_tag(tail))
    except InvalidTag as exc:
        raise SyncError("decrypt_failed", f"{what}无法通过完整性校验") from exc

"""The site key: an Ed25519 key the database does not hold.

The private key lives in a file readable only by the account that runs
printpharm (0600 on POSIX), in a folder outside the database
(``<user config dir>/keys/`` by default, ``PRINTPHARM_KEY_DIR`` to override),
one file per key named by its fingerprint. The database stores only public
keys (``audit_keys``); with them anyone can verify, nobody can sign.

What is signed (every message starts with a domain label, so a signature of
one kind can never be replayed as another):

* the chain head at every append: ``seq``, ``event_hash``, ``occurred_at``;
* every e-signature row: its ``signature_sha256``;
* every anchor line: the head it records;
* a rotation: the old key endorses the new public key and the seq it starts at.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from printpharm.errors import AuditError

__all__ = [
    "KEY_DIR_ENV",
    "SiteKey",
    "SiteKeyError",
    "create_site_key",
    "default_key_dir",
    "fingerprint_of",
    "head_message",
    "load_site_key",
    "signature_message",
    "verify_signature",
]

#: Environment variable naming the folder of site key files.
KEY_DIR_ENV = "PRINTPHARM_KEY_DIR"


class SiteKeyError(AuditError):
    """The site key is missing, unreadable, too open, or not this database's."""


def default_key_dir() -> Path:
    """The folder of site key files: ``PRINTPHARM_KEY_DIR`` or ``<user config dir>/keys``."""
    explicit = os.environ.get(KEY_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("printpharm", appauthor=False)) / "keys"


def fingerprint_of(public_hex: str) -> str:
    """The fingerprint of a public key: SHA-256 of its 32 raw bytes, hex, first 32 digits."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:32]


def head_message(seq: int, event_hash: str, occurred_at: str | None, key_id: str) -> bytes:
    """The bytes signed for a chain head."""
    return f"printpharm-head-v1\n{seq}\n{event_hash}\n{occurred_at or '-'}\n{key_id}".encode()


def signature_message(signature_sha256: str) -> bytes:
    """The bytes the site key seals for an e-signature."""
    return f"printpharm-signature-v1\n{signature_sha256}".encode()


def verify_signature(public_hex: str, signature_hex: str | None, message: bytes) -> bool:
    """Whether ``signature_hex`` is a valid Ed25519 signature of ``message`` by ``public_hex``."""
    if not signature_hex:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SiteKey:
    """A loaded private key: signs; ``key_id`` is its fingerprint."""

    private: Ed25519PrivateKey
    public_hex: str
    key_id: str
    path: Path

    def sign(self, message: bytes) -> str:
        """Sign ``message``; return the signature as 128 hex digits."""
        return self.private.sign(message).hex()

    def verify(self, signature_hex: str | None, message: bytes) -> bool:
        """Whether ``signature_hex`` is this key's signature of ``message``."""
        if not signature_hex:
            return False
        try:
            self.private.public_key().verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def _public_hex(private: Ed25519PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )


def create_site_key(folder: Path | None = None) -> SiteKey:
    """Create a new key file (mode 0600, never overwriting) and return the key.

    Raises
    ------
    SiteKeyError
        The folder cannot be created or the file cannot be written.
    """
    folder = folder or default_key_dir()
    private = Ed25519PrivateKey.generate()
    public_hex = _public_hex(private)
    key_id = fingerprint_of(public_hex)
    path = folder / f"{key_id}.key"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    except OSError as exc:
        raise SiteKeyError(f"cannot write the site key file {path}: {exc}") from exc
    return SiteKey(private, public_hex, key_id, path)


def load_site_key(key_id: str, folder: Path | None = None) -> SiteKey:
    """Load the key file of fingerprint ``key_id``.

    Raises
    ------
    SiteKeyError
        No such file, other users may read it (POSIX), or its content is not
        the key of that fingerprint.
    """
    folder = folder or default_key_dir()
    path = folder / f"{key_id}.key"
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise SiteKeyError(f"site key file {path} is a symbolic link; refused")
        if os.name == "posix" and info.st_mode & 0o077:
            raise SiteKeyError(
                f"site key file {path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o}); run chmod 600 on it"
            )
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise SiteKeyError(
            f"the site key {key_id} is not on this workstation (expected {path}); "
            "see docs/SECURITY.md, 'Site key custody'"
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise SiteKeyError(f"cannot read the site key file {path}: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise SiteKeyError(f"site key file {path} does not hold an Ed25519 key")
    public_hex = _public_hex(private)
    if fingerprint_of(public_hex) != key_id:
        raise SiteKeyError(f"site key file {path} holds another key than {key_id}")
    return SiteKey(private, public_hex, key_id, path)

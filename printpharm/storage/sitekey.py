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

A key file is the PEM "PRIVATE KEY" of the key's PKCS#8 DER in the form RFC 8410
gives for Ed25519 (a fixed 16-byte prefix, then the 32-byte seed): what earlier
printpharm versions wrote and read, and what ``openssl pkey`` reads. Reading is
strict: anything else is a :class:`SiteKeyError` saying what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

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

#: RFC 8410 section 7: PKCS#8 v1 DER of an Ed25519 private key, up to its 32-byte seed
#: (SEQUENCE, version 0, AlgorithmIdentifier id-Ed25519 1.3.101.112, OCTET STRING of
#: the OCTET STRING of the seed).
_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_ED25519_ALGORITHM = bytes.fromhex("300506032b6570")
_SEED_BYTES = 32
_BEGIN, _END = "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"


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
        VerifyKey(bytes.fromhex(public_hex)).verify(message, bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class SiteKey:
    """A loaded private key: signs; ``key_id`` is its fingerprint."""

    private: SigningKey
    public_hex: str
    key_id: str
    path: Path

    def sign(self, message: bytes) -> str:
        """Sign ``message``; return the signature as 128 hex digits."""
        return self.private.sign(message).signature.hex()

    def verify(self, signature_hex: str | None, message: bytes) -> bool:
        """Whether ``signature_hex`` is this key's signature of ``message``."""
        return verify_signature(self.public_hex, signature_hex, message)


def _public_hex(private: SigningKey) -> str:
    return bytes(private.verify_key).hex()


def _pem(private: SigningKey) -> bytes:
    """The key file's content: PEM of the RFC 8410 PKCS#8 DER, base64 in 64 columns."""
    body = base64.b64encode(_PKCS8_PREFIX + bytes(private)).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([_BEGIN, *lines, _END, ""]).encode("ascii")


def _armor_problem(lines: list[str]) -> str | None:
    """What is wrong with the PEM armor of a key file's ``lines``, or None."""
    first = lines[0] if lines else ""
    if not (first.startswith("-----BEGIN ") and first.endswith("-----")):
        return "is not a PEM key file (it does not begin with a '-----BEGIN ...-----' line)"
    if first != _BEGIN:
        label = first.removeprefix("-----BEGIN ").removesuffix("-----")
        return f"holds a PEM '{label}' block, not an unencrypted 'PRIVATE KEY'"
    if _END not in lines:
        return f"has no '{_END}' line"
    if lines.index(_END) != len(lines) - 1:
        return f"has data after its END line (line {lines.index(_END) + 2})"
    return None


def _seed_of(content: bytes, path: Path) -> bytes:
    """The 32-byte seed of a key file's ``content``; strict about its form.

    Raises
    ------
    SiteKeyError
        Not ASCII PEM, not a lone unencrypted "PRIVATE KEY" block, damaged
        base64, or not the 48-byte RFC 8410 DER of an Ed25519 key.
    """
    try:
        lines = content.decode("ascii").rstrip().splitlines()
    except UnicodeDecodeError:
        lines = []
    problem = _armor_problem(lines)
    if problem is not None:
        raise SiteKeyError(f"site key file {path} {problem}")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error as exc:
        raise SiteKeyError(f"site key file {path}: its base64 is damaged ({exc})") from exc
    if _ED25519_ALGORITHM not in der[:16]:
        raise SiteKeyError(
            f"site key file {path} holds a key that is not an Ed25519 key "
            f"({len(der)} bytes of DER not naming the algorithm 1.3.101.112)"
        )
    if len(der) != len(_PKCS8_PREFIX) + _SEED_BYTES or not der.startswith(_PKCS8_PREFIX):
        raise SiteKeyError(
            f"site key file {path} holds an Ed25519 key but not in the form printpharm "
            f"writes (RFC 8410 PKCS#8 of 48 bytes; this one has {len(der)} bytes)"
        )
    return der[len(_PKCS8_PREFIX) :]


def create_site_key(folder: Path | None = None) -> SiteKey:
    """Create a new key file (mode 0600, never overwriting) and return the key.

    Raises
    ------
    SiteKeyError
        The folder cannot be created or the file cannot be written.
    """
    folder = folder or default_key_dir()
    private = SigningKey.generate()
    public_hex = _public_hex(private)
    key_id = fingerprint_of(public_hex)
    path = folder / f"{key_id}.key"
    pem = _pem(private)
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
        content = path.read_bytes()
    except FileNotFoundError as exc:
        raise SiteKeyError(
            f"the site key {key_id} is not on this workstation (expected {path}); "
            "see docs/SECURITY.md, 'Site key custody'"
        ) from exc
    except OSError as exc:
        raise SiteKeyError(f"cannot read the site key file {path}: {exc}") from exc
    private = SigningKey(_seed_of(content, path))
    public_hex = _public_hex(private)
    if fingerprint_of(public_hex) != key_id:
        raise SiteKeyError(f"site key file {path} holds another key than {key_id}")
    return SiteKey(private, public_hex, key_id, path)

"""The site key's signatures and its key file format (issue 15, lean bundle).

The Ed25519 implementation behind ``printpharm.storage.sitekey`` is checked against
the RFC 8032 test vectors and against a key file and signatures written by the
earlier implementation; the key file format (PEM "PRIVATE KEY", PKCS#8 per RFC 8410)
against ``openssl`` when it is installed; and a malformed key file must be refused
with a ``SiteKeyError`` that names the file and what is wrong with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from printpharm.storage.sitekey import (
    SiteKey,
    SiteKeyError,
    create_site_key,
    fingerprint_of,
    head_message,
    load_site_key,
    signature_message,
    verify_signature,
)

#: RFC 8032 section 7.1, TEST 1 to TEST 3: (SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE).
RFC8032_VECTORS = {
    "TEST 1": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    "TEST 2": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    "TEST 3": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
}

#: RFC 8410 section 7: the DER of an Ed25519 PKCS#8 private key up to its 32-byte seed.
PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")

#: Written with ``create_site_key`` by the cryptography-based sitekey.py at commit ebd4a20.
OLD_KEY_DIR = Path(__file__).parent / "data" / "sitekey_ebd4a20"


def pem_of(der: bytes, label: str = "PRIVATE KEY") -> bytes:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode()


def install(folder: Path, name: str, content: bytes) -> Path:
    """Write a key file as printpharm would find it: in the key folder, mode 0600."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.key"
    path.write_bytes(content)
    path.chmod(0o600)
    return path


def key_of_seed(folder: Path, seed_hex: str) -> SiteKey:
    """Install the RFC 8410 key file of ``seed_hex`` and load it through the module."""
    key_id = hashlib.sha256(bytes.fromhex(RFC8032_PUBLIC[seed_hex])).hexdigest()[:32]
    install(folder, key_id, pem_of(PKCS8_PREFIX + bytes.fromhex(seed_hex)))
    return load_site_key(key_id, folder)


RFC8032_PUBLIC = {secret: public for secret, public, _, _ in RFC8032_VECTORS.values()}


@pytest.mark.parametrize("name", sorted(RFC8032_VECTORS))
def test_rfc8032_vectors_sign_and_verify_through_the_site_key(name: str, tmp_path: Path) -> None:
    secret, public, message_hex, signature = RFC8032_VECTORS[name]
    message = bytes.fromhex(message_hex)
    key = key_of_seed(tmp_path / "keys", secret)
    assert key.public_hex == public
    assert (
        key.key_id
        == fingerprint_of(public)
        == hashlib.sha256(bytes.fromhex(public)).hexdigest()[:32]
    )
    assert key.sign(message) == signature
    assert key.verify(signature, message)
    assert verify_signature(public, signature, message)
    forged = f"{int(signature[:2], 16) ^ 1:02x}{signature[2:]}"  # one bit of R flipped
    assert not verify_signature(public, forged, message)
    assert not key.verify(forged, message)
    assert not verify_signature(public, signature, message + b"\x00")
    other = RFC8032_VECTORS["TEST 2" if name != "TEST 2" else "TEST 3"][1]
    assert not verify_signature(other, signature, message)


@pytest.mark.parametrize(
    ("public", "signature"),
    [
        ("zz" * 32, "00" * 64),  # not hex
        ("00" * 31, "00" * 64),  # short public key
        (RFC8032_VECTORS["TEST 1"][1], "00" * 63),  # short signature
        (RFC8032_VECTORS["TEST 1"][1], "not hex"),
        (RFC8032_VECTORS["TEST 1"][1], None),
        (RFC8032_VECTORS["TEST 1"][1], ""),
    ],
)
def test_a_malformed_public_key_or_signature_does_not_verify(
    public: str, signature: str | None
) -> None:
    assert verify_signature(public, signature, b"") is False


def old_key(tmp_path: Path) -> tuple[SiteKey, dict[str, object]]:
    expected = json.loads((OLD_KEY_DIR / "expected.json").read_text())
    source = OLD_KEY_DIR / f"{expected['key_id']}.key"
    install(tmp_path / "keys", expected["key_id"], source.read_bytes())  # git keeps no 0600
    return load_site_key(expected["key_id"], tmp_path / "keys"), expected


def test_a_key_file_of_the_cryptography_based_version_still_loads_and_signs_alike(
    tmp_path: Path,
) -> None:
    """The fixture was written and signed by sitekey.py at commit ebd4a20 (cryptography 50)."""
    key, expected = old_key(tmp_path)
    assert key.key_id == expected["key_id"]
    assert key.public_hex == expected["public_hex"]
    assert fingerprint_of(key.public_hex) == expected["key_id"]
    head = expected["head"]
    assert isinstance(head, dict)
    message = head_message(head["seq"], head["event_hash"], head["occurred_at"], key.key_id)
    assert verify_signature(key.public_hex, str(expected["head_signature"]), message)
    assert key.sign(message) == expected["head_signature"]  # Ed25519 is deterministic
    seal = signature_message(str(expected["signature_sha256"]))
    assert key.verify(str(expected["seal_signature"]), seal)
    assert key.sign(seal) == expected["seal_signature"]


def test_a_new_key_file_has_the_form_of_the_earlier_versions(tmp_path: Path) -> None:
    """PEM 'PRIVATE KEY' of the 48-byte RFC 8410 DER, 64-column base64, 0600."""
    key = create_site_key(tmp_path / "keys")
    text = key.path.read_text()
    match = re.fullmatch(r"-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{64})\n"
                         r"-----END PRIVATE KEY-----\n", text)  # fmt: skip
    assert match is not None, text
    der = base64.b64decode(match.group(1), validate=True)
    assert len(der) == 48 and der.startswith(PKCS8_PREFIX)
    assert key.path.stat().st_mode & 0o777 == 0o600
    assert key.path.name == f"{key.key_id}.key"
    again = load_site_key(key.key_id, tmp_path / "keys")
    assert again.public_hex == key.public_hex
    message = head_message(1, "c" * 64, None, key.key_id)
    assert verify_signature(key.public_hex, again.sign(message), message)
    assert again.sign(message) == key.sign(message)


def test_two_new_keys_differ(tmp_path: Path) -> None:
    first, second = create_site_key(tmp_path / "k"), create_site_key(tmp_path / "k")
    assert first.public_hex != second.public_hex and first.path != second.path


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_reads_a_new_key_file_and_finds_the_same_public_key(tmp_path: Path) -> None:
    key = create_site_key(tmp_path / "keys")
    done = subprocess.run(
        ["openssl", "pkey", "-in", str(key.path), "-noout", "-text"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ED25519 Private-Key" in done.stdout
    public = done.stdout.split("pub:", 1)[1]
    assert re.sub(r"[^0-9a-f]", "", public) == key.public_hex


GOOD_DER = PKCS8_PREFIX + bytes.fromhex(RFC8032_VECTORS["TEST 1"][0])
GOOD_PEM = pem_of(GOOD_DER)
ED448_DER = bytes.fromhex("3047020100300506032b6571043b0439") + bytes(57)
#: The start of a P-256 key's PKCS#8 DER (algorithm id-ecPublicKey, curve prime256v1).
P256_DER_START = bytes.fromhex("308187020100301306072a8648ce3d020106082a8648ce3d030107")

MALFORMED = {
    "empty": (b"", "not a PEM"),
    "binary DER": (GOOD_DER, "not a PEM"),
    "not text": (b"\xff\xfe" + GOOD_PEM, "not a PEM"),
    "public key armor": (pem_of(GOOD_DER, "PUBLIC KEY"), "'PUBLIC KEY'"),
    "encrypted": (pem_of(GOOD_DER, "ENCRYPTED PRIVATE KEY"), "'ENCRYPTED PRIVATE KEY'"),
    "openssh": (pem_of(GOOD_DER, "OPENSSH PRIVATE KEY"), "'OPENSSH PRIVATE KEY'"),
    "no end line": (GOOD_PEM.replace(b"-----END PRIVATE KEY-----\n", b""), "END"),
    "mismatched end": (GOOD_PEM.replace(b"END PRIVATE", b"END PUBLIC"), "END"),
    "text before": (b"seed of the site key\n" + GOOD_PEM, "not a PEM"),
    "trailing data": (GOOD_PEM + b"extra\n", "after its END line"),
    "second block": (GOOD_PEM + GOOD_PEM, "after its END line"),
    "base64 damaged": (GOOD_PEM.replace(b"MC4C", b"MC*C"), "base64"),
    "base64 truncated": (GOOD_PEM.replace(b"MC4C", b"MC4"), "base64"),
    "empty body": (b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "0 bytes"),
    "ed448": (pem_of(ED448_DER), "not an Ed25519"),
    "p-256": (pem_of(P256_DER_START + bytes(110)), "not an Ed25519"),
    "short seed": (pem_of(GOOD_DER[:-1]), "47 bytes"),
    "extra DER byte": (pem_of(GOOD_DER + b"\x00"), "49 bytes"),
    "pkcs8 v2 with public key": (
        pem_of(
            bytes.fromhex("3051020101300506032b657004220420")
            + GOOD_DER[16:]
            + bytes.fromhex("812100")
            + bytes(32)
        ),  # fmt: skip
        "83 bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_key_file_is_refused_saying_what_is_wrong(case: str, tmp_path: Path) -> None:
    content, what = MALFORMED[case]
    path = install(tmp_path / "keys", "0" * 32, content)
    with pytest.raises(SiteKeyError) as refused:
        load_site_key("0" * 32, tmp_path / "keys")
    message = str(refused.value)
    assert str(path) in message and what in message, message


def test_a_well_formed_file_of_another_key_is_refused(tmp_path: Path) -> None:
    path = install(tmp_path / "keys", "0" * 32, GOOD_PEM)
    with pytest.raises(SiteKeyError, match="holds another key than 0{32}") as refused:
        load_site_key("0" * 32, tmp_path / "keys")
    assert str(path) in str(refused.value)


def test_windows_line_endings_and_a_missing_final_newline_are_read(tmp_path: Path) -> None:
    key_id = fingerprint_of(RFC8032_VECTORS["TEST 1"][1])
    for content in (GOOD_PEM.replace(b"\n", b"\r\n"), GOOD_PEM.rstrip(b"\n")):
        install(tmp_path / "keys", key_id, content)
        assert load_site_key(key_id, tmp_path / "keys").public_hex == RFC8032_VECTORS["TEST 1"][1]

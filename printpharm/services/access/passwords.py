"""Password hashing (argon2id) and the password policy.

Passwords are stored only as salted argon2id hashes; they are never logged,
audited or exported. The policy follows NIST SP 800-63B: a minimum length
(12 by default, never below 8), a blocklist of common passwords shipped with
printpharm, no reuse of the last N passwords, and optional ageing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from printpharm.errors import InputError, PasswordPolicyError

__all__ = [
    "HasherConfig",
    "PasswordPolicy",
    "HASHER_FLOOR",
    "at_least_floor",
    "default_blocklist",
    "generate_temporary_password",
    "hash_password",
    "needs_rehash",
    "verify_password",
]

#: NIST SP 800-63B floor; the configured minimum may not go below it.
ABSOLUTE_MIN_LENGTH = 8


@dataclass(frozen=True)
class HasherConfig:
    """argon2id cost parameters (defaults: RFC 9106 second recommended option).

    Tests pass tiny costs so the suite stays fast; the stored hash records its
    own parameters, so verification works whatever the current configuration.
    """

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


#: The weakest argon2id parameters production accepts (OWASP: m = 19 MiB, t = 2, p = 1).
#: ``PRINTPHARM_ARGON2`` cannot go below it; only the test suite replaces this object.
HASHER_FLOOR = HasherConfig(2, 19456, 1)


def at_least_floor(config: HasherConfig) -> HasherConfig:
    """``config`` raised, parameter by parameter, to :data:`HASHER_FLOOR`."""
    floor = HASHER_FLOOR
    return HasherConfig(
        max(config.time_cost, floor.time_cost),
        max(config.memory_cost_kib, floor.memory_cost_kib),
        max(config.parallelism, floor.parallelism),
    )


@cache
def _hasher(config: HasherConfig) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config.time_cost,
        memory_cost=config.memory_cost_kib,
        parallelism=config.parallelism,
        type=Type.ID,
    )


def hash_password(password: str, config: HasherConfig) -> str:
    """Return the salted argon2id hash (PHC string) of ``password``."""
    return _hasher(config).hash(password)


def verify_password(password_hash: str, password: str, config: HasherConfig) -> bool:
    """Return whether ``password`` matches ``password_hash`` (malformed hashes never match)."""
    try:
        return _hasher(config).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, config: HasherConfig) -> bool:
    """Return whether a stored hash was made with other parameters than ``config``."""
    try:
        return _hasher(config).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def default_blocklist() -> frozenset[str]:
    """The common-password blocklist shipped in ``services/access/common_passwords.txt``."""
    text = (
        resources.files("printpharm.services.access")
        .joinpath("common_passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def generate_temporary_password() -> str:
    """Return a random one-time password (about 120 bits) for an account reset."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class PasswordPolicy:
    """The site's password rules.

    Attributes
    ----------
    min_length
        Minimum number of characters (default 12, never below 8).
    history
        New passwords may not equal any of the last ``history`` passwords.
    max_age_days
        Force a change after this many days; 0 turns ageing off.
    blocklist
        Passwords refused outright (compared case-insensitively).
    """

    min_length: int = 12
    history: int = 5
    max_age_days: int = 0
    blocklist: frozenset[str] = field(default_factory=default_blocklist)
    min_strength: int = 3

    def __post_init__(self) -> None:
        if self.min_length < ABSOLUTE_MIN_LENGTH:
            raise InputError(
                f"password min_length {self.min_length} is below the floor of "
                f"{ABSOLUTE_MIN_LENGTH} (NIST SP 800-63B)"
            )
        if not 2 <= self.min_strength <= 4:
            raise InputError(f"password min_strength {self.min_strength} must be 2 … 4 (zxcvbn)")
        if self.history < 0 or self.max_age_days < 0:
            raise InputError("password history and max_age_days must be ≥ 0")

    def _check_strength(self, user_id: str, password: str) -> None:
        from zxcvbn import zxcvbn

        # zxcvbn takes at most 72 characters (its cost grows with the length)
        estimate = zxcvbn(password[:72], user_inputs=[user_id[:64]])
        if estimate["score"] < self.min_strength:
            hint = (estimate.get("feedback") or {}).get("warning") or "it is easy to guess"
            raise PasswordPolicyError(
                f"password is too weak (strength {estimate['score']} of 4, the site needs "
                f"{self.min_strength}): {hint.rstrip('.')}; use a longer passphrase"
            )

    def check(
        self,
        user_id: str,
        password: str,
        previous_hashes: Iterable[str] = (),
        hasher: HasherConfig | None = None,
    ) -> None:
        """Raise unless ``password`` is acceptable for ``user_id``.

        The message never repeats the password.

        Raises
        ------
        PasswordPolicyError
            Too short, on the blocklist, containing the user ID, or reused.
        """
        if len(password) < self.min_length:
            raise PasswordPolicyError(
                f"password is {len(password)} characters; the minimum is {self.min_length}"
            )
        if password.strip().lower() in self.blocklist:
            raise PasswordPolicyError("password is on the list of common passwords; choose another")
        if user_id and user_id.lower() in password.lower():
            raise PasswordPolicyError(f"password may not contain the user ID {user_id[:64]!r}")
        self._check_strength(user_id, password)
        config = hasher or HasherConfig()
        for old in previous_hashes:
            if verify_password(old, password, config):
                raise PasswordPolicyError(
                    f"password was used recently; the last {self.history} may not be reused"
                )

"""The printpharm error tree.

Every error printpharm raises on purpose derives from :class:`PrintpharmError`.
Errors from libraries (pyserial, SQLAlchemy, pydantic, trimesh) are caught in
the layer that imports the library and re-raised as one of these with
``raise ... from exc``. Broad ``except Exception`` exists only at the CLI/GUI
top level.

::

    PrintpharmError
    ├── InputError                 bad value entered by a person or script (field, value, limit)
    │   ├── DoseInputError         height, weight, amount, step, cap, formula
    │   ├── UniformityInputError   wrong unit count, unparsable mass or content
    │   └── BarcodeError           a scanned or typed GS1 code that cannot be read
    ├── DesignSpaceError           dose or parameter outside a recipe's validated range
    ├── CatalogError               an ink/recipe/printer file is malformed (file, key, value, limit)
    ├── CalibrationError           too few points, degenerate fit, extrapolation refused
    ├── GeometryError              a dosage form that cannot be built or is not watertight
    │   └── SizingError            no dimensions inside the recipe's bounds hold the dose
    ├── SlicingError               layers/toolpaths/G-code cannot be produced or parsed
    ├── DeviceError                printer or balance
    │   ├── DeviceTimeout          no answer in time
    │   ├── DeviceDisconnected     the port went away
    │   ├── ProtocolError          an answer that does not follow the protocol
    │   ├── PrinterHalted          the firmware stopped (kill(), thermal fault, M112)
    │   └── BalanceError           MT-SICS error or unusable reading
    │       ├── BalanceUnstable    no stable weight within the timeout
    │       └── BalanceOverload    over- or underload
    ├── RunError                   the mass-checked print run
    │   ├── PreflightError         a precondition of the run is not met
    │   └── RunAborted             an alarm or an operator stopped the run
    ├── StorageError               the database cannot be used
    │   ├── DatabaseUnavailable    unreachable, read-only, full
    │   ├── MigrationError         schema version problems
    │   └── RecordError            a record is missing, locked or would be overwritten
    ├── AuditError                 the audit trail
    │   └── AuditChainBroken       verification found a broken link
    ├── AuthError                  users and sessions
    │   ├── AuthenticationFailed   wrong user ID or password
    │   ├── AccountLocked          too many failures, or disabled
    │   ├── SessionExpired         idle timeout
    │   ├── PasswordPolicyError    password too short, blocklisted or reused
    │   └── PermissionDenied       the role may not do this
    └── SignatureError             an electronic signature is refused or invalid
        └── AlarmNotAcknowledged   a batch with alarms nobody acknowledged cannot be signed
"""

from __future__ import annotations

__all__ = [
    "AccountLocked",
    "AlarmNotAcknowledged",
    "AuditChainBroken",
    "AuditError",
    "AuthError",
    "AuthenticationFailed",
    "BalanceError",
    "BalanceOverload",
    "BalanceUnstable",
    "BarcodeError",
    "CalibrationError",
    "CatalogError",
    "DatabaseUnavailable",
    "DesignSpaceError",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceTimeout",
    "DoseInputError",
    "GeometryError",
    "InputError",
    "MigrationError",
    "PasswordPolicyError",
    "PermissionDenied",
    "PreflightError",
    "PrinterHalted",
    "PrintpharmError",
    "ProtocolError",
    "RecordError",
    "RunAborted",
    "RunError",
    "SessionExpired",
    "SignatureError",
    "SizingError",
    "SlicingError",
    "StorageError",
    "UniformityInputError",
]


class PrintpharmError(Exception):
    """Base of every error printpharm raises on purpose."""


class InputError(PrintpharmError, ValueError):
    """A value entered by a person or a script is not acceptable.

    The message names the field, the value and the limit it broke; :attr:`field` is
    that field's name (e.g. ``"weight_kg"``) where the raiser knows it, so a form
    marks the right widget without reading the message.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DoseInputError(InputError):
    """Patient measurement, prescribed amount, step, cap or formula rejected."""


class UniformityInputError(InputError):
    """Pharmacopoeial test input has the wrong number of units or bad values."""


class BarcodeError(InputError):
    """A scanned or typed GS1 element string cannot be read (check digit, date, AI)."""


class DesignSpaceError(PrintpharmError):
    """A dose or process parameter lies outside a recipe's validated range."""


class CatalogError(PrintpharmError):
    """An ink, recipe or printer definition file is malformed or inconsistent."""


class CalibrationError(PrintpharmError):
    """A calibration cannot be fitted or used (too few points, extrapolation)."""


class GeometryError(PrintpharmError):
    """A dosage form cannot be built, or its mesh is not a closed solid."""


class SizingError(GeometryError):
    """No dimensions within the recipe's bounds deposit the required volume."""


class SlicingError(PrintpharmError):
    """Layers, toolpaths or G-code cannot be produced or read."""


class DeviceError(PrintpharmError):
    """A printer or balance problem."""


class DeviceTimeout(DeviceError):
    """The device did not answer within the allowed time."""


class DeviceDisconnected(DeviceError):
    """The serial connection was lost or could not be opened."""


class ProtocolError(DeviceError):
    """The device answered something the protocol does not allow."""


class PrinterHalted(DeviceError):
    """The firmware halted (kill(), thermal fault, emergency stop)."""


class BalanceError(DeviceError):
    """The balance reported an error or an unusable reading."""


class BalanceUnstable(BalanceError):
    """No stable weight within the timeout."""


class BalanceOverload(BalanceError):
    """The load is above (``+``) or below (``-``) the weighing range."""


class RunError(PrintpharmError):
    """The mass-checked print run cannot continue."""


class PreflightError(RunError):
    """A precondition of a print run is not met."""


class RunAborted(RunError):
    """An alarm or an operator stopped the run."""


class StorageError(PrintpharmError):
    """The database cannot be used as asked."""


class DatabaseUnavailable(StorageError):
    """The database is unreachable, read-only or full."""


class MigrationError(StorageError):
    """The database schema is at an unexpected version."""


class RecordError(StorageError):
    """A record is missing, locked, or would be overwritten."""


class AuditError(PrintpharmError):
    """The audit trail cannot be written or read."""


class AuditChainBroken(AuditError):
    """Verification found an edited, deleted, inserted or reordered event."""


class AuthError(PrintpharmError):
    """A problem with users, passwords or sessions."""


class AuthenticationFailed(AuthError):
    """Wrong user ID or password."""


class AccountLocked(AuthError):
    """The account is locked after failed attempts, or disabled."""


class SessionExpired(AuthError):
    """The session ended after the idle timeout; log in again."""


class PasswordPolicyError(AuthError, InputError):
    """A new password breaks the site's password policy."""


class PermissionDenied(AuthError):
    """The user's role does not allow the operation."""


class SignatureError(PrintpharmError):
    """An electronic signature was refused or does not verify."""


class AlarmNotAcknowledged(SignatureError):
    """A batch record with alarms nobody acknowledged cannot be reviewed, released or rejected.

    The message names each alarm and how to acknowledge it.
    """

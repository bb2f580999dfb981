"""SQLAlchemy 2.0 typed table mappings.

Exact quantities (masses, doses, drug loads) are :class:`decimal.Decimal`
columns (``NUMERIC`` on PostgreSQL, exact decimal text on SQLite, never float).
Timestamps are UTC. These rows never leave :mod:`printpharm.storage`; the
repositories convert them to plain dataclasses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "Alarm",
    "BalanceCheck",
    "Base",
    "Batch",
    "CheckWeight",
    "CleaningRecord",
    "Device",
    "EquipmentEvent",
    "ExactDecimal",
    "Ink",
    "InkLot",
    "InkVersion",
    "LibraryVersionColumns",
    "PasswordHistory",
    "Patient",
    "Prescription",
    "Recipe",
    "RecipeVersion",
    "RecoveryCode",
    "ResearchSession",
    "Role",
    "SiteSetting",
    "TrainingRecord",
    "UTCDateTime",
    "Unit",
    "User",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal column stored exactly: ``NUMERIC`` without a scale on PostgreSQL (which
    keeps every digit, where ``NUMERIC(18, 6)`` rounded silently; migration 0013), exact
    text on SQLite."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"exact column needs a Decimal, got {type(value).__name__} {value!r}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; stored naive-UTC so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Role(Base):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_verified_by: Mapped[str | None] = mapped_column(String(64))
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identity_method: Mapped[str | None] = mapped_column(String(200))
    signature_ack_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordHistory(Base):
    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A one-time break-glass recovery code (only its hash), printed at ``init``."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(64))


class Ink(Base):
    __tablename__ = "inks"
    ink_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api: Mapped[str | None] = mapped_column(String(200))
    drug_load_mg_per_g: Mapped[Decimal] = mapped_column(ExactDecimal)
    density_g_per_ml: Mapped[Decimal] = mapped_column(ExactDecimal)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InkLot(Base):
    """A prepared lot of one ink version (syringes, a spool) and its bulk assay.

    ``status`` moves ``quarantine`` → ``released`` (a pharmacist's signature) → ``in_use``
    → ``used_up``, or to ``rejected`` / ``expired``; ``version`` counts content changes
    (what a release signature binds to). Quantities are in ``quantity_unit`` (mL or g).
    """

    __tablename__ = "ink_lots"
    __table_args__ = (UniqueConstraint("lot_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ink_id: Mapped[str] = mapped_column(ForeignKey("inks.ink_id"))
    lot_number: Mapped[str] = mapped_column(String(64))
    ink_version: Mapped[int] = mapped_column(Integer)
    gtin: Mapped[str | None] = mapped_column(String(14))
    prepared_on: Mapped[date] = mapped_column(Date)
    prepared_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    quantity_remaining: Mapped[Decimal] = mapped_column(ExactDecimal)
    quantity_unit: Mapped[str] = mapped_column(String(4))
    container: Mapped[str] = mapped_column(String(120))
    beyond_use_date: Mapped[date] = mapped_column(Date)
    assay_basis: Mapped[str | None] = mapped_column(String(16))
    assay_value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    assay_uncertainty: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    assay_method: Mapped[str | None] = mapped_column(String(200))
    assay_analyst: Mapped[str | None] = mapped_column(String(200))
    density_g_per_ml: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(16), default="quarantine")
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recipe(Base):
    __tablename__ = "recipes"
    recipe_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LibraryVersionColumns:
    """Columns every library version table has after ``id`` and its item key (a mixin).

    A version's content (canonical JSON) and hash are written once; only ``status`` moves.
    """

    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    content_json: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecipeVersion(LibraryVersionColumns, Base):
    """One version of a recipe: ``draft`` → ``validated`` → ``locked`` → ``retired``."""

    __tablename__ = "recipe_versions"
    __table_args__ = (UniqueConstraint("recipe_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipe_id: Mapped[str] = mapped_column(ForeignKey("recipes.recipe_id"))


class InkVersion(LibraryVersionColumns, Base):
    """One version of an ink: ``draft`` → ``validated`` → ``locked`` → ``retired``."""

    __tablename__ = "ink_versions"
    __table_args__ = (UniqueConstraint("ink_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ink_id: Mapped[str] = mapped_column(ForeignKey("inks.ink_id"))


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Prescription(Base):
    __tablename__ = "prescriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    prescriber: Mapped[str] = mapped_column(String(200))
    drug: Mapped[str] = mapped_column(String(200))
    dose_rule: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    amount_unit: Mapped[str] = mapped_column(String(16))
    dose_per_unit_mg: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    units_count: Mapped[int] = mapped_column(Integer)
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="entered")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Device(Base):
    """A piece of equipment: printer, print head, balance (the equipment register).

    ``serial_number`` is what the device reports (balance ``I4``, printer M115
    ``UUID``) or, for a part that reports nothing, its plate serial; ``asset_tag``
    is the site's own label. ``status`` is ``in_service``, ``out_of_service`` or
    ``retired``; qualification, calibration and maintenance are in ``equipment_events``.
    """

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("kind", "serial_number"),
        Index("uq_devices_asset_tag", "asset_tag", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(120))
    firmware: Mapped[str | None] = mapped_column(String(120))
    calibration_date: Mapped[date | None] = mapped_column(Date)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    asset_tag: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="in_service")
    status_reason: Mapped[str | None] = mapped_column(Text)
    printer_type: Mapped[str | None] = mapped_column(String(64))
    mounted_on: Mapped[str | None] = mapped_column(String(64))


class EquipmentEvent(Base):
    """One qualification (IQ/OQ/PQ), calibration or maintenance record of a device (append-only).

    A qualification stage and a retirement carry the id of their electronic signature.
    """

    __tablename__ = "equipment_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    performed_on: Mapped[date] = mapped_column(Date)
    document_ref: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"))


class CheckWeight(Base):
    """A certified test weight for the balance checks, with its calibration certificate."""

    __tablename__ = "check_weights"
    weight_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nominal_g: Mapped[Decimal] = mapped_column(ExactDecimal)
    conventional_mass_g: Mapped[Decimal] = mapped_column(ExactDecimal)
    uncertainty_mg: Mapped[Decimal] = mapped_column(ExactDecimal)
    weight_class: Mapped[str] = mapped_column(String(8))
    certificate: Mapped[str] = mapped_column(String(120))
    certificate_expiry: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BalanceCheck(Base):
    """A routine balance check (Ph. Eur. 2.1.7 / USP <41>): readings, verdicts, minimum weight.

    The test weight's certificate is copied in (``weight_json``) so the check stands alone.
    """

    __tablename__ = "balance_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    weight_json: Mapped[str] = mapped_column(Text)
    readings_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    minimum_weight_mg: Mapped[Decimal] = mapped_column(ExactDecimal)


class CleaningRecord(Base):
    """One cleaning of a printer or print head: who, when, method (SOP), what was cleaned."""

    __tablename__ = "cleaning_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    cleaned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleaned_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    method_sop: Mapped[str] = mapped_column(String(120))
    parts: Mapped[str] = mapped_column(Text)
    cytotoxic: Mapped[bool] = mapped_column(Boolean)
    checked_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    notes: Mapped[str | None] = mapped_column(Text)


class TrainingRecord(Base):
    """A person trained on a subject: role, SOP, recipe, ink family or printer type.

    ``user_id`` is not a foreign key: a person is trained for a role before the account
    with that ID is created (compliance TRN-01); IDs are never reused.
    """

    __tablename__ = "training_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(120))
    trained_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(200))
    document_ref: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Batch(Base):
    __tablename__ = "batches"
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    recipe_version_id: Mapped[int | None] = mapped_column(ForeignKey("recipe_versions.id"))
    ink_lot_id: Mapped[int | None] = mapped_column(ForeignKey("ink_lots.id"))
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    balance_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    target_dose_mg: Mapped[Decimal] = mapped_column(ExactDecimal)
    units_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    version: Mapped[int] = mapped_column(Integer, default=1)
    research_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details_json: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)


class Unit(Base):
    """One printed unit: target mass, the raw balance reading and the flow correction.

    ``flow_correction`` is the firmware flow factor (M221, %); ``e_scale`` the
    material factor of the unit's G-code E words and ``correction_reason`` why.
    """

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("batch_id", "unit_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"))
    unit_index: Mapped[int] = mapped_column(Integer)
    target_mass_mg: Mapped[Decimal] = mapped_column(ExactDecimal)
    raw_reading: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    reading_unit: Mapped[str | None] = mapped_column(String(8))
    reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reading_stable: Mapped[bool | None] = mapped_column(Boolean)
    capture_method: Mapped[str | None] = mapped_column(String(16))
    flow_correction: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    raw_line: Mapped[str | None] = mapped_column(Text)
    e_scale: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    pressure_json: Mapped[str | None] = mapped_column(Text)  # the unit's pressure log, kPa


class Alarm(Base):
    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.batch_id"))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SiteSetting(Base):
    __tablename__ = "site_settings"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResearchSession(Base):
    """A time-limited research-mode unlock by a supervisor."""

    __tablename__ = "research_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unlocked_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))

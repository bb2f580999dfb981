"""Database engines, sessions and schema migrations.

The default database is a SQLite file in the user data directory (WAL journal,
foreign keys on). Any SQLAlchemy URL may be given instead (``--db`` or
``PRINTPHARM_DATABASE_URL``); PostgreSQL is the multi-workstation deployment.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that two
processes appending to the audit chain are serialised by the database itself
(the PostgreSQL path takes a row lock on the chain head instead).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from printpharm.errors import DatabaseUnavailable, MigrationError

__all__ = [
    "DATABASE_URL_ENV",
    "SQLITE_FILE_MODE",
    "Database",
    "default_database_url",
    "resolve_database_url",
]

#: Environment variable naming the database URL when ``--db`` is not given.
DATABASE_URL_ENV = "PRINTPHARM_DATABASE_URL"

_BEGIN_OPTION = "printpharm_sqlite_begin"

#: SQLSTATE prefixes meaning "this database cannot take writes now" (PostgreSQL): a
#: read-only transaction or server (25006), insufficient resources such as a full disk
#: (53), a lost connection (08), an administrator shutdown (57P).
_UNAVAILABLE_SQLSTATES = ("25006", "53", "08", "57P")


def _is_unavailable(exc: DBAPIError) -> bool:
    state = getattr(exc.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES)


def default_database_url() -> str:
    """Return the URL of the default SQLite file in the per-user data directory."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("printpharm", appauthor=False))
    return f"sqlite:///{folder / 'printpharm.sqlite3'}"


def resolve_database_url(explicit: str | None = None) -> str:
    """Choose the database URL: explicit value, then the environment, then the default.

    A value without ``://`` is taken as the path of a SQLite file, so an
    inspector can pass a file name directly.

    Parameters
    ----------
    explicit
        The ``--db`` value, or ``None``.

    Returns
    -------
    str
        A SQLAlchemy URL.
    """
    value = explicit or os.environ.get(DATABASE_URL_ENV) or default_database_url()
    if "://" not in value:
        value = f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, read_only: bool) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event (pysqlite would
    # otherwise issue its own deferred BEGIN and defeat BEGIN IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


#: Permission bits of a SQLite file printpharm creates (POSIX); SQLite gives its
#: ``-wal`` and ``-shm`` files the permissions of the database file.
SQLITE_FILE_MODE = 0o600


def _create_private(path: Path) -> None:
    """Create the folder and an empty database file readable only by its owner.

    An existing file is left as it is (its owner chose its permissions); a
    symbolic link is not followed when the file is created.

    Raises
    ------
    DatabaseUnavailable
        The folder or the file cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(path):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            os.close(os.open(path, flags, SQLITE_FILE_MODE))
    except FileExistsError:
        pass  # another process created it first
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the database file {path}: {exc}") from exc


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One database: its engine, session factory and migrations.

    Parameters
    ----------
    url
        A SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``).
    read_only
        Open a SQLite file read-only (for offline verification); ignored for
        other back-ends.
    connect_args
        Extra DB-API connect arguments (e.g. a PostgreSQL ``options`` string).

    Raises
    ------
    DatabaseUnavailable
        The URL is malformed, the SQLite folder cannot be created, or the driver of the
        database (psycopg and its libpq for PostgreSQL) cannot be loaded.
    """

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        connect_args: dict[str, Any] | None = None,
    ) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseUnavailable(f"database URL {url!r} is not valid: {exc}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        args = dict(connect_args or {})
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            path = parsed.database or ""
            if path and path != ":memory:" and not path.startswith("file:"):
                if read_only:
                    if not Path(path).is_file():
                        raise DatabaseUnavailable(f"database file {path} does not exist")
                    parsed = make_url(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true")
                else:
                    _create_private(Path(path))
            args.setdefault("timeout", 30)
            kwargs["poolclass"] = NullPool
        try:
            self.engine: Engine = create_engine(parsed, connect_args=args, **kwargs)
        except ImportError as exc:  # a driver that is not installed (psycopg: or its libpq)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DatabaseUnavailable(
                f"the {self.dialect} driver cannot be loaded ({first}); for PostgreSQL "
                "install the client library libpq (Debian/Ubuntu: apt-get install libpq5) "
                "or the driver (pip install 'printpharm[postgres]'; installers/README.md)"
            ) from exc
        if self.dialect == "sqlite":
            event.listen(
                self.engine,
                "connect",
                lambda c, r: _sqlite_on_connect(c, r, read_only),
            )
            event.listen(self.engine, "begin", _sqlite_on_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """Open a transaction; commit on success, roll back on any error.

        Storage-internal: services use :meth:`printpharm.storage.repositories.UnitOfWork`.

        Parameters
        ----------
        write
            On SQLite, take the write lock at the start (``BEGIN IMMEDIATE``)
            so concurrent writers queue instead of failing or forking.

        Raises
        ------
        DatabaseUnavailable
            The database cannot be reached or is locked beyond the timeout.
        """
        options = {_BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"}
        session = self._sessions()
        try:
            session.connection(execution_options=options)
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise DatabaseUnavailable(f"database {self!r} cannot be used: {exc.orig}") from exc
        except DBAPIError as exc:
            session.rollback()
            if _is_unavailable(exc):
                raise DatabaseUnavailable(f"database {self!r} cannot be used: {exc.orig}") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to ``revision`` (``head`` by default).

        Raises
        ------
        MigrationError
            A migration failed; the schema is left at the last complete revision.
        DatabaseUnavailable
            The database cannot be reached.
        """
        from alembic import command

        try:
            with self.engine.connect() as conn:
                config = _alembic_config(conn)
                command.upgrade(config, revision)
                conn.commit()
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database {self!r} cannot be used: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise MigrationError(f"migration to {revision} failed: {exc}") from exc

    def current_revision(self) -> str | None:
        """Return the schema revision stored in the database (``None``: empty database)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database {self!r} cannot be used: {exc.orig}") from exc

    def head_revision(self) -> str:
        """Return the newest revision shipped with this version of printpharm."""
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
        if head is None:
            raise MigrationError("no migrations are shipped with printpharm")
        return head

    def require_current(self) -> None:
        """Raise unless the schema is at the shipped head revision.

        Raises
        ------
        MigrationError
            The database is empty, older or newer than this printpharm.
        """
        current = self.current_revision()
        head = self.head_revision()
        if current != head:
            raise MigrationError(
                f"database schema is at revision {current or 'none (empty database)'}, "
                f"this printpharm needs {head}; run `printpharm db upgrade`"
            )

    def table_names(self) -> list[str]:
        """Return the names of the tables in the database."""
        return sorted(inspect(self.engine).get_table_names())

    def ping(self) -> None:
        """Check that the database answers.

        Raises
        ------
        DatabaseUnavailable
            It does not.
        """
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database {self!r} cannot be used: {exc.orig}") from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _alembic_config(connection: Connection | None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "printpharm.storage:migrations")
    config.attributes["connection"] = connection
    return config

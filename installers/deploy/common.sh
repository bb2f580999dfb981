# Sourced by the deployment scripts: names, defaults and helpers.
#
# Connection to the PostgreSQL server as an administrator (a superuser, or a role
# with CREATEROLE and CREATEDB) uses the usual libpq variables: PGHOST, PGPORT,
# PGUSER, PGPASSWORD (or ~/.pgpass). printpharm's own roles and database:
#   PRINTPHARM_DB        database name                 (default printpharm)
#   PRINTPHARM_OWNER     owner role: runs migrations   (default printpharm_owner)
#   PRINTPHARM_APP       workstation role: data only   (default printpharm_app)
#   PRINTPHARM_CMD       the printpharm command        (default printpharm)
set -euo pipefail

PRINTPHARM_DB=${PRINTPHARM_DB:-printpharm}
PRINTPHARM_OWNER=${PRINTPHARM_OWNER:-printpharm_owner}
PRINTPHARM_APP=${PRINTPHARM_APP:-printpharm_app}
PRINTPHARM_CMD=${PRINTPHARM_CMD:-printpharm}
PGHOST=${PGHOST:-localhost}
PGPORT=${PGPORT:-5432}
export PGHOST PGPORT

say() { printf '[printpharm-deploy] %s\n' "$*"; }
die() { printf '[printpharm-deploy] ERROR: %s\n' "$*" >&2; exit 1; }

# psql as the administrator, stopping at the first error; $1 is the database.
admin_psql() {
  local db=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# Whether database $1 exists on the server (psql -c does not expand variables: use stdin).
db_exists() {
  [ -n "$(echo "SELECT 1 FROM pg_database WHERE datname = :'db'" \
    | admin_psql postgres -tA -v db="$1")" ]
}

# The SQLAlchemy URL of a role on this server (no password: libpq reads PGPASSWORD/.pgpass).
db_url() {
  local role=$1 db=${2:-$PRINTPHARM_DB}
  printf 'postgresql+psycopg://%s@%s:%s/%s' "$role" "$PGHOST" "$PGPORT" "$db"
}

# Run printpharm as a role of this server, passing its password through libpq's variable.
as_role() {
  local role=$1 password=$2
  shift 2
  PGPASSWORD="$password" PGUSER="$role" "$@"
}

# Ask for a password unless the variable is set already.
need_password() {
  local var=$1 prompt=$2
  if [ -z "${!var:-}" ]; then
    [ -t 0 ] || die "$var is not set and there is no terminal to ask for it"
    read -r -s -p "$prompt: " "${var?}"
    echo
    [ -n "${!var}" ] || die "empty password for $var"
  fi
}

# Give the workstation role the data it needs and nothing more. Run after every upgrade:
# new tables get the same rights; the owner (never the workstation role) owns the schema,
# so a workstation cannot drop the append-only triggers, and the audit trail is
# insert-only for it even without them.
apply_grants() {
  local db=$1
  admin_psql "$db" <<SQL
GRANT CONNECT ON DATABASE "$db" TO "$PRINTPHARM_APP";
GRANT USAGE ON SCHEMA public TO "$PRINTPHARM_APP";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "$PRINTPHARM_APP";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "$PRINTPHARM_APP";
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM "$PRINTPHARM_APP";
REVOKE ALL ON alembic_version FROM "$PRINTPHARM_APP";
GRANT SELECT ON alembic_version TO "$PRINTPHARM_APP";
-- Records are never deleted; keys are append-only; the head only moves forward (trigger).
REVOKE DELETE, TRUNCATE ON users, batches, units, signatures, research_sessions,
  recipe_versions, ink_versions, devices, site_settings, audit_keys, audit_head
  FROM "$PRINTPHARM_APP";
REVOKE UPDATE ON signatures, audit_keys FROM "$PRINTPHARM_APP";
SQL
}

# Why triggers and not SECURITY DEFINER functions: the rules that decide a change
# (who may, with which password, for which dose) live once, in printpharm's services;
# copying them into PL/pgSQL would make two rule books. A function called with an
# actor's ID cannot authenticate that actor either. So the database enforces what it
# can check without secrets: no DELETE, no copied password hash, a head that never moves
# back, and, at commit, no change of a protected row without its audit event in the same
# transaction (0008_keyed_audit). What a forger then has to write into the chain is
# exposed by the site key the database does not hold (docs/SECURITY.md).

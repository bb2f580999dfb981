#!/usr/bin/env bash
# Create printpharm's roles and database on a PostgreSQL server, apply the schema
# migrations (`printpharm db upgrade`) and grant the workstation role its rights.
#
#   PGHOST=db.pharmacy.local PGUSER=postgres installers/deploy/create_database.sh
#
# Passwords: PRINTPHARM_OWNER_PASSWORD and PRINTPHARM_APP_PASSWORD (asked if unset).
# Safe to run again: existing roles and database are kept, grants re-applied.
# Prints the URL every workstation is given (PRINTPHARM_DATABASE_URL or --db).
source "$(dirname "$0")/common.sh"

need_password PRINTPHARM_OWNER_PASSWORD "password for the owner role $PRINTPHARM_OWNER"
need_password PRINTPHARM_APP_PASSWORD "password for the workstation role $PRINTPHARM_APP"

say "roles $PRINTPHARM_OWNER (owner) and $PRINTPHARM_APP (workstations) on $PGHOST:$PGPORT"
admin_psql postgres \
  -v owner="$PRINTPHARM_OWNER" -v app="$PRINTPHARM_APP" \
  -v owner_pw="$PRINTPHARM_OWNER_PASSWORD" -v app_pw="$PRINTPHARM_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'owner', :'owner_pw') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'app', :'app_pw') \gexec
SQL

if ! db_exists "$PRINTPHARM_DB"; then
  say "database $PRINTPHARM_DB"
  admin_psql postgres -c "CREATE DATABASE \"$PRINTPHARM_DB\" OWNER \"$PRINTPHARM_OWNER\" ENCODING 'UTF8' TEMPLATE template0"
else
  say "database $PRINTPHARM_DB exists; keeping it"
fi
admin_psql "$PRINTPHARM_DB" <<SQL
REVOKE ALL ON DATABASE "$PRINTPHARM_DB" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO "$PRINTPHARM_OWNER";
SQL

"$(dirname "$0")/upgrade.sh"
say "done. Point every workstation at:"
say "  PRINTPHARM_DATABASE_URL=$(db_url "$PRINTPHARM_APP")"
say "  (password in the workstation's %APPDATA%\\postgresql\\pgpass.conf or ~/.pgpass, or in the URL)"

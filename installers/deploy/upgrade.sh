#!/usr/bin/env bash
# Apply printpharm's schema migrations as the owner role (`printpharm db upgrade`), then
# re-apply the workstation role's grants (new tables). Back up first (backup.sh).
#
#   PGHOST=db.pharmacy.local PGUSER=postgres installers/deploy/upgrade.sh
source "$(dirname "$0")/common.sh"

need_password PRINTPHARM_OWNER_PASSWORD "password for the owner role $PRINTPHARM_OWNER"
say "schema migrations on $PRINTPHARM_DB (printpharm db upgrade, as $PRINTPHARM_OWNER)"
as_role "$PRINTPHARM_OWNER" "$PRINTPHARM_OWNER_PASSWORD" \
  $PRINTPHARM_CMD db upgrade --db "$(db_url "$PRINTPHARM_OWNER")"
apply_grants "$PRINTPHARM_DB"
say "grants for $PRINTPHARM_APP applied"

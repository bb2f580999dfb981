#!/usr/bin/env bash
# Restore a backup into a NEW database and verify it before anyone uses it:
# checksum, pg_restore, schema revision, the audit chain and every imported chain.
#
#   PGHOST=db.pharmacy.local PGUSER=postgres installers/deploy/restore.sh DUMP [TARGET_DB]
#
# TARGET_DB (default: printpharm_restored) must not exist. After it verifies, switch
# over by renaming (ALTER DATABASE printpharm RENAME TO printpharm_old; ALTER DATABASE
# printpharm_restored RENAME TO printpharm) while the workstations are closed.
source "$(dirname "$0")/common.sh"

dump=${1:?usage: restore.sh DUMP [TARGET_DB]}
target=${2:-${PRINTPHARM_DB}_restored}
[ -f "$dump" ] || die "no backup file $dump"
if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --quiet -c "$(basename "$dump").sha256") \
    || die "$dump does not match its checksum: do not restore it"
  say "checksum ok"
else
  say "no $dump.sha256: checksum not checked"
fi
! db_exists "$target" || die "database $target exists; restore into a new database"

say "restoring $dump into $target"
admin_psql postgres -c "CREATE DATABASE \"$target\" OWNER \"$PRINTPHARM_OWNER\" ENCODING 'UTF8' TEMPLATE template0"
pg_restore --no-password --exit-on-error -d "$target" "$dump"

url=$(db_url "${PGUSER:-postgres}" "$target")
say "verifying the restored audit chain"
$PRINTPHARM_CMD audit verify --db "$url" || die "restored audit chain is BROKEN: do not use $target"
$PRINTPHARM_CMD federation verify --db "$url" || die "an imported chain in $target is BROKEN"
say "restore of $dump into $target verified"

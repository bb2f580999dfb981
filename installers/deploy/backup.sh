#!/usr/bin/env bash
# Back up the printpharm database: verify its audit chain, dump it (pg_dump custom
# format, compressed), and write the dump's SHA-256 next to it.
#
#   PGHOST=db.pharmacy.local PGUSER=postgres installers/deploy/backup.sh /srv/backups
#
# Schedule it (cron, Windows Task Scheduler) at least daily and copy the folder off-site.
# The chain is verified before the dump so that a backup of an already broken trail is
# noticed the day it is taken (the dump is still written, and the script exits 1).
source "$(dirname "$0")/common.sh"

dir=${1:?usage: backup.sh BACKUP_FOLDER}
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dump="$dir/$PRINTPHARM_DB-$stamp.dump"

chain=0
if command -v "${PRINTPHARM_CMD%% *}" >/dev/null 2>&1; then
  $PRINTPHARM_CMD audit verify --db "$(db_url "${PGUSER:-postgres}")" || chain=$?
else
  say "printpharm not on this machine: audit chain not verified before the dump"
fi
say "dumping $PRINTPHARM_DB to $dump"
pg_dump -Fc --no-password -d "$PRINTPHARM_DB" -f "$dump"
(cd "$dir" && sha256sum "$(basename "$dump")" > "$(basename "$dump").sha256")
say "backup written: $dump ($(du -h "$dump" | cut -f1)), checksum in $dump.sha256"
[ "$chain" -eq 0 ] || die "the audit chain did NOT verify at backup time (exit $chain): tell QA"

# Sourced by .ci/run: start a disposable PostgreSQL on loopback and export its URL
# as PRINTPHARM_TEST_POSTGRES_URL for the storage tests.
start_test_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ]; then
    echo "PostgreSQL server binaries not found; PostgreSQL tests will be skipped" >&2
    return 0
  fi
  local owner=postgres
  id "$owner" >/dev/null 2>&1 || owner=$(id -un)
  local dir port
  # A free loopback port: a cluster left behind by an earlier run must not break this one.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  dir=$(mktemp -d /tmp/printpharm-pg.XXXXXX)
  chown "$owner" "$dir"
  local as=()
  [ "$(id -un)" != "$owner" ] && as=(runuser -u "$owner" --)
  "${as[@]}" "$bindir/initdb" -D "$dir/data" -U printpharm --auth=trust >/dev/null
  "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null
  "${as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U printpharm printpharm_test
  export PRINTPHARM_TEST_POSTGRES_URL="postgresql+psycopg://printpharm@127.0.0.1:$port/printpharm_test"
  trap "${as[*]} $bindir/pg_ctl -D $dir/data -m fast stop >/dev/null 2>&1 || true" EXIT
}

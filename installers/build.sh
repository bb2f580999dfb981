#!/usr/bin/env bash
# Build the standalone printpharm bundle with PyInstaller, then smoke-test the result.
#
#   installers/build.sh            # build into build/installer/dist/printpharm, then test it
#   PRINTPHARM_BUILD_DIR=/tmp/x installers/build.sh
#   installers/build.sh --test-only   # smoke-test an existing bundle
#
# The smoke test runs the bundled executable from an empty folder with an empty user
# data folder (no repository, no Python on the path needed):
#   1. `printpharm --version` prints this version;
#   2. `printpharm run --simulate` prints 3 units headless and reaches a verdict;
#   3. `printpharm db upgrade` + `printpharm doctor` on a new SQLite file (migrations bundled);
#   4. the main window is built and rendered offscreen to a PNG (PRINTPHARM_SMOKE_GUI), and
#      collation, time-zone names, codecs and locale casing answer through ICU (whose
#      data the build trims: installers/icu_data.py), reportlab renders a PDF, and the
#      stripped native libraries compute (installers/elf_strip.py);
#   4b. with PRINTPHARM_SMOKE_POSTGRES_URL (a scratch database), `db upgrade` on PostgreSQL
#      through the system's libpq (the bundle carries no psycopg_binary);
#   5. `printpharm` with no arguments (the real desktop start) is still running after 6 s;
#   6. the start to the login window is timed (installers/start_time.py; printed, not asserted).
# Exits non-zero at the first failure; prints build time, the bundle size and what each
# dependency costs in it (installers/bundle_sizes.py). Before building, it checks that
# $PYTHON has every dependency of pyproject.toml installed, and stops with one line if not.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${PRINTPHARM_BUILD_DIR:-$ROOT/build/installer}
PYTHON=${PYTHON:-python3}
BUNDLE=$OUT/dist/printpharm
EXE=$BUNDLE/printpharm

say() { printf '[build.sh] %s\n' "$*"; }
die() { printf '[build.sh] FAILED: %s\n' "$*" >&2; exit 1; }

# One line naming what is missing if $PYTHON lacks printpharm's dependencies: a bundle
# built from it would not start.
check_python() {
  local problem
  problem=$("$PYTHON" - "$ROOT" 2>&1 <<'PY'
import sys
from pathlib import Path

if sys.version_info < (3, 11):
    print(f"it is Python {sys.version.split()[0]}; printpharm needs 3.11 or newer")
    raise SystemExit(1)
import importlib.metadata as metadata
import re
import tomllib

root = Path(sys.argv[1])
project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
try:
    from packaging.requirements import Requirement
except ImportError:
    Requirement = None
problems = []
for text in project["dependencies"]:
    name = re.split(r"[<>=!~\[; ]", text, maxsplit=1)[0]
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        problems.append(f"{name} missing")
        continue
    if Requirement is not None and not Requirement(text).specifier.contains(installed, True):
        problems.append(f"{name} {installed} (needs {text[len(name):]})")
if problems:
    print(f"{'; '.join(problems)}: install the project first ({sys.executable} -m pip install -e {root})")
    raise SystemExit(1)
PY
  ) || die "$PYTHON cannot build a working bundle: $problem"
}

build() {
  check_python
  if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    say "installing PyInstaller from the package registry"
    "$PYTHON" -m pip install --quiet 'pyinstaller>=6.0'
  fi
  local start=$SECONDS
  say "building with PyInstaller $("$PYTHON" -m PyInstaller --version) into $OUT"
  rm -rf "$BUNDLE"
  "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$OUT/dist" --workpath "$OUT/work" installers/printpharm.spec
  BUILD_S=$((SECONDS - start))
  say "build took ${BUILD_S} s; what each dependency costs in the bundle:"
  "$PYTHON" installers/bundle_sizes.py "$BUNDLE" --top 25
}

smoke_test() {
  [ -x "$EXE" ] || die "no bundle at $EXE (build it first)"
  local tmp
  tmp=$(mktemp -d /tmp/printpharm-smoke.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  cd "$tmp"
  # a clean user: no repository data, no configured database, default Qt settings
  local -a clean=(env -u PRINTPHARM_DATA_DIR -u PRINTPHARM_DATABASE_URL -u PYTHONPATH
    HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
    XDG_CACHE_HOME="$tmp/cache" QT_QPA_PLATFORM=offscreen)
  mkdir -p "$tmp/home"

  local expected version
  expected=$(cd "$ROOT" && "$PYTHON" -c "import printpharm; print(printpharm.__version__)")
  version=$("${clean[@]}" "$EXE" --version)
  [ "$version" = "printpharm $expected" ] || die "--version printed '$version', expected '$expected'"
  say "ok: --version → $version"

  "${clean[@]}" "$EXE" run --recipe cpm-chewable-disc --units 3 --rule fixed --amount 10 \
    --simulate --on-pause abort --out-dir "$tmp/records" > "$tmp/run.txt" 2>&1 \
    || { cat "$tmp/run.txt"; die "run --simulate failed"; }
  # exit 0: completed and nothing failed; 3 units of 10 mg decide no pharmacopoeial test,
  # so the verdict waits for content uniformity (PENDING_CONTENT_UNIFORMITY), never FAIL
  grep -Eq "^VERDICT: (PASS|PENDING_)" "$tmp/run.txt" || { cat "$tmp/run.txt"; die "run: no verdict"; }
  say "ok: run --simulate, 3 units → $(grep '^VERDICT' "$tmp/run.txt")"

  "${clean[@]}" "$EXE" db upgrade --db "$tmp/smoke.sqlite3" > /dev/null \
    || die "db upgrade failed (migrations not bundled?)"
  "${clean[@]}" "$EXE" doctor --db "$tmp/smoke.sqlite3" --printer-port sim://printer \
    --balance-port sim://balance > "$tmp/doctor.txt" 2>&1 \
    || { cat "$tmp/doctor.txt"; die "doctor reported a failure"; }
  say "ok: db upgrade + doctor (no failed check)"

  "${clean[@]}" PRINTPHARM_SMOKE_GUI="$tmp/window.png" "$EXE" > "$tmp/gui.txt" 2>&1 \
    || { cat "$tmp/gui.txt"; die "the main window could not be built offscreen"; }
  [ -s "$tmp/window.png" ] || die "no window screenshot written"
  cp "$tmp/window.png" "$OUT/smoke-window.png"
  grep -q "^smoke-gui: ICU ok" "$tmp/gui.txt" || { cat "$tmp/gui.txt"; die "ICU (trimmed data)"; }
  grep -q "^smoke-gui: PDF ok" "$tmp/gui.txt" || { cat "$tmp/gui.txt"; die "PDF (reportlab)"; }
  say "ok: main window rendered offscreen → $OUT/smoke-window.png; collation, time-zone names, codecs and casing through ICU; a PDF through reportlab"
  grep -q "^smoke-gui: native ok" "$tmp/gui.txt" || { cat "$tmp/gui.txt"; die "native libraries (stripped?)"; }
  say "ok: stripped native libraries compute (NumPy's LAPACK with OpenBLAS, shapely's GEOS, Pillow's PNG and JPEG)"

  if [ -n "${PRINTPHARM_SMOKE_POSTGRES_URL:-}" ]; then  # a scratch database: migrated here
    "${clean[@]}" "$EXE" db upgrade --db "$PRINTPHARM_SMOKE_POSTGRES_URL" > "$tmp/pg.txt" 2>&1 \
      || { cat "$tmp/pg.txt"; die "db upgrade on PostgreSQL (the system's libpq) failed"; }
    say "ok: db upgrade on PostgreSQL through the system's libpq"
  fi

  local code=0
  timeout 6 "${clean[@]}" "$EXE" > "$tmp/start.txt" 2>&1 || code=$?
  [ "$code" -eq 124 ] || { cat "$tmp/start.txt"; die "desktop start exited with $code"; }
  say "ok: desktop start (no arguments) still running after 6 s"

  # the start to the login window (printed, never asserted: installers/start_time.py)
  printf 'correct-horse-42-battery\ncorrect-horse-42-battery\n' | "${clean[@]}" \
    "$EXE" init --admin smoke.admin --password-stdin > "$tmp/init.txt" 2>&1 \
    || { cat "$tmp/init.txt"; die "init (administrator for the login window) failed"; }
  "${clean[@]}" "$PYTHON" "$ROOT/installers/start_time.py" "$EXE" --runs "${PRINTPHARM_START_RUNS:-5}" \
    | sed 's/^/[build.sh] /' || die "the desktop start could not be timed"
  say "smoke test passed; bundle size $(du -sh "$BUNDLE" | cut -f1)"
}

if [ "${1:-}" != "--test-only" ]; then
  build
fi
smoke_test

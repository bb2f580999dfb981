#!/usr/bin/env bash
# Install a built bundle system-wide on Linux: /opt/printpharm, the `printpharm` command,
# the desktop entry and the icon (run as root; PREFIX and DESTDIR change where).
#
#   sudo installers/install-linux.sh [BUNDLE]   # default: build/installer/dist/printpharm
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=${1:-$here/../build/installer/dist/printpharm}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
[ -x "$bundle/printpharm" ] || { echo "no bundle at $bundle (run installers/build.sh)" >&2; exit 1; }

install -d "$DESTDIR/opt/printpharm" "$DESTDIR$PREFIX/bin" \
  "$DESTDIR$PREFIX/share/applications" "$DESTDIR$PREFIX/share/icons/hicolor/256x256/apps" \
  "$DESTDIR$PREFIX/share/icons/hicolor/scalable/apps"
cp -a "$bundle/." "$DESTDIR/opt/printpharm/"
ln -sf /opt/printpharm/printpharm "$DESTDIR$PREFIX/bin/printpharm"
install -m 644 "$here/printpharm.desktop" "$DESTDIR$PREFIX/share/applications/printpharm.desktop"
install -m 644 "$here/printpharm.png" "$DESTDIR$PREFIX/share/icons/hicolor/256x256/apps/printpharm.png"
install -m 644 "$here/printpharm.svg" "$DESTDIR$PREFIX/share/icons/hicolor/scalable/apps/printpharm.svg"
if [ -z "$DESTDIR" ] && command -v update-desktop-database >/dev/null; then
  update-desktop-database -q "$PREFIX/share/applications" || true
fi
echo "printpharm installed in /opt/printpharm; run 'printpharm doctor' to check this workstation"

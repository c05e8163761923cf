#!/usr/bin/env bash
# Build the Linux package: the one-folder app (PyInstaller, installer/rtic-console.spec) packed as a .deb.
#
#   installer/linux/build-deb.sh [OUT_DIR]      (default build/package; needs .venv with `pip install .[package]`)
#
# Installs /opt/rtic-console (the app with its own Python and libraries), /usr/bin/rtic-console, a desktop entry
# and icon, and /etc/xdg/rtic-console/settings.toml (a conffile: every setting commented out at its default).
# Depends: the Debian packages that own the system libraries the bundle links against (found with ldd and
# dpkg -S on this machine, so the list is what the built app really needs), plus fonts.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=$(realpath -m "${1:-build/package}")
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

"$PYTHON" -c 'import PyInstaller' 2>/dev/null || {
  echo "build-deb: PyInstaller is missing: run '$PYTHON -m pip install .[package]'" >&2; exit 1; }
VERSION=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); import console; print(console.__version__)')
ARCH=$(dpkg --print-architecture)
NAME=rtic-console
STAGE=$OUT/deb/${NAME}_${VERSION}_${ARCH}
mkdir -p "$OUT"

echo "build-deb: PyInstaller one-folder app"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/work" \
  installer/rtic-console.spec
APP=$OUT/dist/$NAME

echo "build-deb: staging $STAGE"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/icons/hicolor/256x256/apps" \
  "$STAGE/etc/xdg/$NAME" "$STAGE/usr/share/doc/$NAME"
cp -a "$APP" "$STAGE/opt/$NAME"
cat > "$STAGE/usr/bin/$NAME" <<'EOF'
#!/bin/sh
# Community Connect Console: the packaged app lives in /opt/rtic-console with its own Python and libraries.
exec /opt/rtic-console/rtic-console "$@"
EOF
chmod 755 "$STAGE/usr/bin/$NAME"
install -m 644 installer/linux/rtic-console.desktop "$STAGE/usr/share/applications/$NAME.desktop"
install -m 644 resources/icons/rtic-console.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$NAME.svg"
QT_QPA_PLATFORM=offscreen "$PYTHON" installer/make_icons.py "$OUT/icons" >/dev/null
install -m 644 "$OUT/icons/$NAME.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/$NAME.png"
# The built app writes its own template (its log goes to a throw-away folder, not the builder's home).
XDG_DATA_HOME="$OUT/home" "$APP/$NAME" config template > "$STAGE/etc/xdg/$NAME/settings.toml"
chmod 644 "$STAGE/etc/xdg/$NAME/settings.toml"
install -m 644 installer/README.md "$STAGE/usr/share/doc/$NAME/README.md"
echo "/etc/xdg/$NAME/settings.toml" > "$STAGE/DEBIAN/conffiles"
install -m 755 installer/linux/postinst "$STAGE/DEBIAN/postinst"
install -m 755 installer/linux/postinst "$STAGE/DEBIAN/postrm"

echo "build-deb: finding the system libraries the app links against"
packages=$("$PYTHON" installer/linux/deb_depends.py "$APP")
# libc6 with the version built against; fonts are read at run time (fontconfig), not linked.
DEPENDS=$(printf '%s\n' $packages fonts-dejavu-core | grep -vx libc6 | sort -u | paste -sd, | sed 's/,/, /g')
DEPENDS="libc6 (>= $(dpkg-query -W -f='${Version}' libc6 | cut -d- -f1)), $DEPENDS"

cat > "$STAGE/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: Community Connect Console team <rtic-console@localhost>
Section: misc
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $DEPENDS
Recommends: libvlc5, vlc-plugin-base, vlc-plugin-video-output
Description: Community Connect Console for police Real-Time Intelligence Centers
 Registered and live community cameras near an incident, consent-checked and
 audited live view. Ships its own Python, Qt and QtWebEngine in /opt/rtic-console.
 Check an installation with: rtic-console self-test
EOF

DEB=$OUT/${NAME}_${VERSION}_${ARCH}.deb
echo "build-deb: packing $DEB"
# xz at level 1: within a few percent of -z9 for these binaries, and many times faster.
dpkg-deb --root-owner-group -Zxz -z1 --build "$STAGE" "$DEB" >/dev/null
echo "build-deb: $DEB ($(du -h "$DEB" | cut -f1); installed $(du -sh "$STAGE/opt/$NAME" | cut -f1))"
echo "build-deb: Depends: $DEPENDS"

#!/usr/bin/env bash
# Install the .deb into a clean root and run the INSTALLED console's self-test there, offscreen; fail if it fails.
#
#   installer/linux/check-deb.sh [PACKAGE.deb]     (default: the newest build/package/*.deb; needs root)
#
# The clean root is a chroot made here from nothing but (1) the files of this machine's Essential packages (what
# every Debian system has: coreutils, dash, dpkg, libc ...), (2) the files of the packages the .deb Depends on and
# their own dependencies, copied from this machine, with a dpkg database listing just those packages. No Python, no
# venv, no source tree. The .deb is then installed by dpkg inside the chroot WITHOUT --force-depends (so its Depends
# must be right), and `rtic-console self-test` runs there under `env -i` with HOME in /tmp. See installer/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEB=$(realpath "${1:-$(ls -t build/package/*.deb 2>/dev/null | head -1)}")
[ -f "$DEB" ] || { echo "check-deb: no package: build one with installer/linux/build-deb.sh" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "check-deb: needs root (chroot and mounts)" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/rtic-clean-root.XXXXXX)
cleanup() { rm -rf --one-file-system "$ROOT"; }
trap cleanup EXIT

# The packages of the clean root: Essential ones plus the .deb's Depends, with everything they depend on.
depends=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep -v '^$')
essential=$(dpkg-query -W -f='${Package} ${Essential} ${db:Status-Status}\n' | awk '$2 == "yes" && $3 == "installed" {print $1}')
for pkg in $depends; do
  dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed || {
    echo "check-deb: $pkg (a Depends of the package) is not installed on this machine" >&2; exit 1; }
done
packages=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $essential $depends 2>/dev/null | grep -v '^ \|<' | sort -u \
  | while read -r pkg; do
      dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed && echo "$pkg"
    done || true)
echo "check-deb: clean root $ROOT with $(echo "$packages" | wc -l) packages ($(echo "$essential" | wc -w) Essential)"

# Merged /usr as on the host (bin, lib, sbin ... are links into /usr), then the packages' files.
for link in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$link" ]; then mkdir -p "$ROOT/$(readlink "/$link")"; ln -s "$(readlink "/$link")" "$ROOT/$link"; fi
done
# shellcheck disable=SC2086
dpkg -L $packages 2>/dev/null | grep '^/' | sort -u > "$ROOT/.files"
tar -C / --no-recursion -cf - -T "$ROOT/.files" 2>/dev/null | tar -C "$ROOT" --keep-directory-symlink -xf -
rm "$ROOT/.files"
mkdir -p "$ROOT"/{tmp,proc,dev,root,etc} "$ROOT"/var/lib/dpkg/{info,updates,triggers}
chmod 1777 "$ROOT/tmp"
cp /etc/passwd /etc/group "$ROOT/etc/"
touch "$ROOT/var/lib/dpkg/available"
# shellcheck disable=SC2086
for pkg in $packages; do
  dpkg-query -s "$pkg"; echo
  name=$(dpkg-query -W -f='${binary:Package}' "$pkg")
  cp "/var/lib/dpkg/info/$name.list" "$ROOT/var/lib/dpkg/info/" 2>/dev/null || true
done > "$ROOT/var/lib/dpkg/status"
chroot "$ROOT" /sbin/ldconfig
if [ -e "$ROOT/usr/bin/python3" ] || ls "$ROOT"/usr/lib/python3* >/dev/null 2>&1; then
  echo "check-deb: the clean root holds a Python (a Depends pulled it in): the check would prove less" >&2; exit 1
fi

cp "$DEB" "$ROOT/tmp/package.deb"
unshare -m --propagation private bash -euo pipefail -s "$ROOT" <<'EOF'
ROOT=$1
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
echo "check-deb: dpkg -i inside the clean root"
chroot "$ROOT" /usr/bin/dpkg -i /tmp/package.deb
chroot "$ROOT" /usr/bin/test -x /usr/bin/rtic-console
chroot "$ROOT" /usr/bin/test -f /etc/xdg/rtic-console/settings.toml
chroot "$ROOT" /usr/bin/mkdir -p /tmp/home
echo "check-deb: rtic-console self-test (installed console, env -i, offscreen)"
started=$(date +%s.%N)
status=0
chroot "$ROOT" /usr/bin/env -i HOME=/tmp/home PATH=/usr/bin:/bin LANG=C.UTF-8 \
  QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1 \
  /usr/bin/rtic-console self-test --json > "$ROOT/tmp/self-test.out" 2> "$ROOT/tmp/self-test.err" || status=$?
ended=$(date +%s.%N)
cat "$ROOT/tmp/self-test.out"
if [ "$status" -ne 0 ]; then
  echo "check-deb: the installed self-test FAILED (exit $status); its stderr:" >&2
  tail -n 30 "$ROOT/tmp/self-test.err" >&2
  exit 1
fi
echo "check-deb: self-test passed; wall time from exec to exit $(awk "BEGIN {printf \"%.2f\", $ended - $started}") s"
umount -l "$ROOT/proc" "$ROOT/dev"
EOF
echo "check-deb: ok: $(basename "$DEB") installs into a clean root and its self-test passes"

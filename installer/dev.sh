#!/usr/bin/env bash
# Set up a Debian 12 / Ubuntu machine for Community Connect Console, then run the console or its tests.
#
#   installer/dev.sh run [ARGS...]   system packages + .venv, then `rtic-console ARGS` (no ARGS: the desktop console
#                                    on your registry, created with the demo registry on first start)
#   installer/dev.sh test [PYTEST ARGS...]
#                                    also the test tools (GStreamer RTSP server, ffmpeg, Xvfb, PostgreSQL server, slapd),
#                                    then the whole test suite with every backend required: a missing one FAILS its
#                                    tests, naming it and why. Skip one only by name: RTIC_TEST_SKIP=xvfb,vlc
#   installer/dev.sh pictures        the README pictures (resources/screenshots/*.png: the main window, the demo wall
#                                    playing, the panic alert bar, the bulletin send dialog, intake, footage), made by driving the real window
#                                    and dialogs through clicks and typed keys on the demo registry
#   installer/dev.sh bench [--quick] every benchmark in tests/bench (needs what `test` needs), each printing one JSON
#                                    line per figure, no thresholds; --quick: each briefly (a check that it still works)
#   installer/dev.sh package         the Linux package: build the .deb (PyInstaller one-folder app), install it into a
#                                    clean root and run the installed console's self-test there (installer/README.md)
#   installer/dev.sh setup           only the set-up of `run`
#
# Idempotent: a second run installs nothing new. Needs root or sudo for apt-get, and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
[ $# -gt 0 ] && shift

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

RUN_PACKAGES=(
  python3 python3-venv python3-pip
  # Qt 6 / QtWebEngine on a minimal system (see ../shared/PLATFORM.md)
  libnss3 libasound2 libegl1 libgl1 libgbm1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxcomposite1 libxdamage1
  libxrandr2 libxtst6 libxkbcommon0 libxkbfile1 libxcb-dri3-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0 fonts-dejavu-core
  # libVLC for HLS/HTTP/file playback (Debian's build has no RTSP client; RTSP goes through FFmpeg/PyAV)
  libvlc5 vlc-plugin-base vlc-plugin-video-output
)
TEST_PACKAGES=(
  xvfb xauth
  # a real RTSP server for the player tests, run with Debian's python3 (GStreamer bindings)
  gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-x
  # H.265 (x265enc) and webrtcbin as a WHEP peer for the camera matrix (tests/video/test_webrtcbin_whep.py)
  gstreamer1.0-plugins-bad gstreamer1.0-nice gir1.2-gst-plugins-bad-1.0
  ffmpeg
  postgresql
  # a real directory server (OpenLDAP) for the directory sign-in tests, started by the suite on loopback
  slapd ldap-utils
  # pdftoppm and pdftotext: the year report test renders its PDF pages and reads their text
  poppler-utils
)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    # Installed (under its name or Ubuntu 24.04's t64 rename, libasound2 -> libasound2t64): nothing to ask apt.
    installed "$pkg" || installed "${pkg}t64" && continue
    if ! apt-cache show "$pkg" >/dev/null 2>&1 && apt-cache show "${pkg}t64" >/dev/null 2>&1; then pkg="${pkg}t64"; fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

python_env() {
  local python=${PYTHON:-python3}
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "Python 3.11 or newer is needed (found $("$python" --version 2>&1))" >&2; exit 1; }
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  # A normal (not editable) install, so what runs is what a wheel ships. Skipped when nothing it is built from
  # changed since the last install of the same extras (a start in seconds, not a minute of rebuilding the wheel).
  local stamp=".venv/.rtic-installed-${1//[^a-z]/_}" digest
  digest=$( { echo "$1"; "$python" --version; find console resources ui pyproject.toml setup.py -type f \
    ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ] || ! .venv/bin/python -c 'import console' 2>/dev/null; then
    rm -f "$stamp"
    if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "$1" > .venv/pip-install.log 2>&1; then
      cat .venv/pip-install.log >&2; echo "pip could not install $1 (above)" >&2; exit 1
    fi
    grep -v "^WARNING: Location" .venv/pip-install.log || true
    .venv/bin/python -c 'import console, PySide6, sqlalchemy' >/dev/null
    echo "$digest" > "$stamp"
  fi
}

postgres_server() {
  # The store and multi-workstation tests use a real PostgreSQL server on 127.0.0.1:5432.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    local cluster
    cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
    if [ -n "$cluster" ]; then
      # shellcheck disable=SC2086
      $SUDO pg_ctlcluster --skip-systemctl-redirect $cluster start || true
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; return 1; }
  # The tests log in as postgres/postgres (ignored where the server trusts local connections).
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" 2>/dev/null \
      || runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'"
  fi
}

case "$mode" in
  setup)
    apt_install "${RUN_PACKAGES[@]}"
    python_env "."
    ;;
  run)
    apt_install "${RUN_PACKAGES[@]}"
    python_env "."
    exec .venv/bin/rtic-console "$@"
    ;;
  test)
    apt_install "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    python_env ".[test]"
    postgres_server
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1
    # Every real part the suite uses (tests/support/backends.py); RTIC_TEST_SKIP=NAME,... skips one on request.
    export RTIC_TEST_REQUIRE=postgresql,gstreamer,vlc,xvfb,ffmpeg,openssl,wheel,slapd
    .venv/bin/lint-imports --no-cache
    .venv/bin/ruff check --quiet --no-cache --select F console tests  # unused and undefined names
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    apt_install "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    python_env ".[test]"
    postgres_server
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1
    exec .venv/bin/python tests/bench/run.py "$@"
    ;;
  pictures)
    apt_install "${RUN_PACKAGES[@]}"
    python_env "."
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1
    .venv/bin/python -m tests.support.pictures resources/screenshots
    ;;
  package)
    apt_install "${RUN_PACKAGES[@]}"
    python_env ".[package]"
    started=$(date +%s)
    installer/linux/build-deb.sh build/package
    installer/linux/check-deb.sh "$(ls -t build/package/*.deb | head -1)"
    echo "package: built and checked in $(( $(date +%s) - started )) s"
    ;;
  *)
    echo "usage: installer/dev.sh run [ARGS...] | test [PYTEST ARGS...] | pictures | bench [--quick] | package | setup" >&2
    exit 2
    ;;
esac

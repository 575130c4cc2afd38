#!/usr/bin/env bash
# Install gtzcomposer on a fresh Debian/Ubuntu machine: system libraries via apt, then the
# package (non-editable) into ./.venv.  `--dev` also installs the test and lint tools.
# Idempotent: run it again after pulling changes.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    *) echo "usage: scripts/install.sh [--dev]" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Qt (offscreen and X11), fonts, ALSA for MIDI ports, FluidSynth and its default soundfont,
# Xvfb + ImageMagick for headless screenshots.
APT_PACKAGES=(
  python3 python3-venv python3-pip
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1
  libasound2 libfluidsynth3 fluidsynth
  mma
)
if [ "$DEV" = 1 ]; then APT_PACKAGES+=(xvfb xauth imagemagick ffmpeg); fi
# MuseScore 3 for the tests that convert our MusicXML and MIDI with a real notation program.
if [ "$DEV" = 1 ]; then APT_PACKAGES+=(musescore3); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# MMA's groove database (the band); the package usually builds it, build it if not
if command -v mma >/dev/null && [ ! -e /usr/share/mma/lib/stdlib/.mmaDB ]; then $SUDO mma -G >/dev/null || true; fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$DEV" = 1 ]; then
  # the training extra too: Keras + TensorFlow, the reference the tests compare the numpy runtime with
  .venv/bin/python -m pip install -q ".[dev,training]"
  # The original musicnn (only for the test that re-converts its weights; it pins an ancient
  # numpy, so it is installed without its dependencies).
  .venv/bin/python -m pip install -q --no-deps "musicnn==0.1.0"
else
  .venv/bin/python -m pip install -q .
fi
echo "gtzcomposer installed in .venv ($(.venv/bin/gtzcomposer --version))"

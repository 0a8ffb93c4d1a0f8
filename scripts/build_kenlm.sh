#!/usr/bin/env bash
# Build KenLM's `lmplz` and `build_binary` from the PyPI kenlm source distribution and
# cache them in .cache/kenlm/bin (idempotent: does nothing when both binaries exist).
# Needs cmake, a C++ compiler and Debian's Boost/compression headers; installs them with
# apt-get when running as root, otherwise prints the exact command to run.
set -euo pipefail

KENLM_VERSION="0.3.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/kenlm"
BIN="$CACHE/bin"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
DEB_PACKAGES=(libboost-program-options-dev libboost-system-dev libboost-thread-dev
              libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev cmake)

if [[ -x "$BIN/lmplz" && -x "$BIN/build_binary" ]]; then
    echo "kenlm binaries already built: $BIN"
    exit 0
fi

missing=()
for package in "${DEB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if (( ${#missing[@]} )); then
    if [[ "$(id -u)" -eq 0 ]]; then
        apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
    else
        echo "Missing build dependencies. Run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

mkdir -p "$CACHE/src" "$BIN"
sdist="$CACHE/src/kenlm-$KENLM_VERSION.tar.gz"
if [[ ! -f "$sdist" ]]; then
    # --no-build-isolation: pip only reads the sdist's metadata with the venv's setuptools and
    # wheel (installed here: a fresh venv lacks wheel, and old setuptools needs it for that step),
    # instead of building kenlm's build requirements (cmake, setuptools) from source too.
    "$PYTHON" -m pip install --quiet setuptools wheel
    "$PYTHON" -m pip download --no-binary :all: --no-deps --no-build-isolation \
        --dest "$CACHE/src" "kenlm==$KENLM_VERSION"
fi
source_dir="$CACHE/src/kenlm-$KENLM_VERSION"
rm -rf "$source_dir"
tar -xzf "$sdist" -C "$CACHE/src"

build_dir="$source_dir/build"
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" --target lmplz build_binary -j2
cp "$build_dir/bin/lmplz" "$build_dir/bin/build_binary" "$BIN/"
echo "kenlm binaries built: $BIN"

#!/usr/bin/env bash
# Makes sure `spin` (the SPIN model checker, for the protocol models beside layout.h) and a C
# compiler for its verifiers are on PATH: installs the Debian package when spin is missing and
# this runs as root with apt-get (as CI does); otherwise says what to install. Prints spin's path.
#   bash tools/ensure-spin.sh
set -euo pipefail
if ! command -v spin >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q spin >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q spin >/dev/null; }
  else
    echo "spin is not installed: install the package (Debian/Ubuntu: sudo apt-get install spin;" \
      "elsewhere see https://spinroot.com), then run the models again" >&2
    exit 1
  fi
fi
command -v gcc >/dev/null 2>&1 || { echo "the models need gcc to compile SPIN's verifiers" >&2; exit 1; }
command -v spin

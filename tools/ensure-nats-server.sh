#!/usr/bin/env bash
# Makes sure `nats-server` (the NATS server, for ringwire/nats and its tests) is on PATH:
# installs the Debian package when it is missing and this runs as root with apt-get (as CI
# does); otherwise says what to install. Prints the server's path.
#   bash tools/ensure-nats-server.sh
set -euo pipefail
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q nats-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nats-server >/dev/null; }
  else
    echo "nats-server is not installed: install the package (Debian/Ubuntu: sudo apt-get install nats-server;" \
      "elsewhere see https://docs.nats.io/running-a-nats-service/introduction/installation), then run the tests again" >&2
    exit 1
  fi
fi
command -v nats-server

#!/usr/bin/env bash
# Installs the build and test dependencies from Debian 12 packages (as root),
# and any further packages named as arguments (scripts/sanitize.sh: clang).
set -euo pipefail
packages=(g++ make cmake pkg-config postgresql-15 postgresql-server-dev-15 libeigen3-dev libgtest-dev libssl-dev
          nlohmann-json3-dev libxgboost-dev postgresql-15-cron "$@")
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run this script as root to install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Provisions schemathesis (PyPI, pinned) into a virtual environment under
# ${RESERVEX_CACHE:-~/.cache/reservex}/tools and prints the path of its `st` command on stdout
# (progress on stderr). Idempotent and locked: concurrent runs wait for the one doing the work; a
# half-built environment (no `.complete` marker) is built again.
# Needs python3 with the venv module (Debian: python3-venv, installed with apt-get when missing).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

tools=${RESERVEX_CACHE:-$HOME/.cache/reservex}/tools
venv=$tools/schemathesis-$SCHEMATHESIS_VERSION
mkdir -p "$tools"
log() { echo "provision: $*" >&2; }

if [ ! -f "$venv/.complete" ]; then
  (
    flock 9
    if [ ! -f "$venv/.complete" ]; then
      if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        log "python3-venv is missing; installing it with apt-get"
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
        $sudo apt-get update -qq >&2
        $sudo apt-get install -y -qq python3-venv >&2
      fi
      log "schemathesis $SCHEMATHESIS_VERSION ..."
      start=$SECONDS
      rm -rf "$venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
      "$venv/bin/st" --version >&2
      touch "$venv/.complete"
      log "schemathesis done in $((SECONDS - start))s"
    fi
  ) 9>"$tools/.schemathesis.lock"
fi
echo "$venv/bin/st"

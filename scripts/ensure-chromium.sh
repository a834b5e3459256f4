#!/usr/bin/env bash
# Make sure a Chromium browser is installed for the workspace's browser tests.
#
# The tests drive the system's Chromium with Playwright for Python (executable_path): the
# machine's network is closed, so Playwright cannot download a browser of its own and
# `playwright install` is never run. On Debian/Ubuntu without `chromium` on PATH, this installs
# the distribution's `chromium` package non-interactively. Idempotent and fast when present.
#
# Exit status: 0 when `chromium` is on PATH afterwards, non-zero otherwise.
set -euo pipefail

log() { printf 'ensure-chromium: %s\n' "$*" >&2; }

if chromium_path="$(command -v chromium 2>/dev/null)"; then
    log "chromium present ($chromium_path)"
    exit 0
fi

log "no chromium on PATH; installing Debian's 'chromium' package"

if ! command -v apt-get >/dev/null 2>&1; then
    log "ERROR: apt-get not available; install Chromium with this system's package manager"
    log "       so that a 'chromium' command is on PATH (the workspace's browser tests need it)."
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        log "ERROR: not root and no password-less sudo; cannot install Chromium."
        log "       Run as root:  apt-get update && apt-get install -y --no-install-recommends chromium"
        exit 1
    fi
fi

log "running: apt-get update"
"${SUDO[@]}" apt-get update
log "running: apt-get install -y --no-install-recommends chromium"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium

if chromium_path="$(command -v chromium 2>/dev/null)"; then
    log "installed; $("$chromium_path" --version 2>/dev/null || echo chromium) at $chromium_path"
    exit 0
fi
log "ERROR: 'chromium' installed but no 'chromium' command on PATH"
exit 1

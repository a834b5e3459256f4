#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) are installed.
#
# The storage tests start a throwaway server of their own (medbill_core.testing.postgres);
# they only need the binaries. Idempotent and fast when they are already present.
# On Debian/Ubuntu without them, installs the distribution's `postgresql` package
# non-interactively, WITHOUT starting the system cluster service.
#
# Exit status: 0 when the binaries are available afterwards, non-zero otherwise.
set -euo pipefail

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }

find_initdb() {
    local candidate
    if candidate="$(command -v initdb 2>/dev/null)"; then
        printf '%s\n' "$candidate"
        return 0
    fi
    # Debian keeps the server binaries off PATH; newest major version first.
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" && -x "$candidate/postgres" ]]; then
            printf '%s\n' "$candidate/initdb"
            return 0
        fi
    done
    return 1
}

if initdb_path="$(find_initdb)"; then
    log "PostgreSQL server binaries present ($initdb_path)"
    exit 0
fi

log "no initdb found on PATH or under /usr/lib/postgresql/*/bin; installing 'postgresql'"

if ! command -v apt-get >/dev/null 2>&1; then
    log "ERROR: apt-get not available; install the PostgreSQL server (initdb, pg_ctl, postgres)"
    log "       with this system's package manager, or set MEDBILL_TEST_POSTGRES_URL to an"
    log "       existing server the tests may create and drop databases on."
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        log "ERROR: not root and no password-less sudo; cannot install PostgreSQL."
        log "       Run as root:  apt-get update && apt-get install -y --no-install-recommends postgresql"
        log "       or set MEDBILL_TEST_POSTGRES_URL to an existing server."
        exit 1
    fi
fi

# Keep the package's maintainer scripts from starting the system cluster: a policy-rc.d
# that answers 101 ("action forbidden") is honoured by invoke-rc.d and deb-systemd-invoke.
# Only install our own if none exists, and remove it again afterwards.
POLICY=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
    if [[ "$own_policy" -eq 1 ]]; then
        "${SUDO[@]}" rm -f "$POLICY" || true
    fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\n# temporary, from medbill scripts/ensure-postgres.sh\nexit 101\n' \
        | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 0755 "$POLICY"
    own_policy=1
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends postgresql

if initdb_path="$(find_initdb)"; then
    log "installed; PostgreSQL server binaries at $(dirname "$initdb_path")"
    exit 0
fi
log "ERROR: 'postgresql' installed but initdb still not found under /usr/lib/postgresql/*/bin"
exit 1

#!/usr/bin/env bash
# The system packages the test suite needs, installed when missing, so that `pnpm test` passes on a fresh
# Debian machine:
#   chromium                                        the playground's browser test (/usr/bin/chromium, or ELBO_CHROMIUM)
#   libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri   Mesa EGL/GLES: the software adapter of WebGPU in Node (Dawn)
#   redis-server                                    the sweep queue's tests
# As root with apt-get, the missing ones are installed; otherwise one line says what to install, and the script
# exits 1. Silent when everything is present.
#   --dry-run   say what would be installed and exit 0
#   ELBO_SKIP_SETUP=1 skips the check (a machine without Debian's packages, whose tests then skip or fail by themselves).
set -euo pipefail

dry_run=false
case "${1:-}" in
  --dry-run) dry_run=true ;;
  '') ;;
  *) echo "setup-test-env: unknown argument \"$1\" (usage: setup-test-env.sh [--dry-run])" >&2; exit 2 ;;
esac
[ "${ELBO_SKIP_SETUP:-}" = 1 ] && exit 0

packages=(chromium libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri redis-server)

installed() {
  if [ "$1" = chromium ] && [ -n "${ELBO_CHROMIUM:-}" ] && [ -x "$ELBO_CHROMIUM" ]; then return 0; fi
  if command -v dpkg-query >/dev/null 2>&1; then
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
  else
    # No dpkg: the two binaries can still be found; the Mesa libraries cannot be checked and are assumed present.
    case "$1" in
      chromium) [ -x /usr/bin/chromium ] ;;
      redis-server) command -v redis-server >/dev/null 2>&1 ;;
      *) return 0 ;;
    esac
  fi
}

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if $dry_run; then
  echo "setup-test-env: would install: ${missing[*]}"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-env: the tests need ${missing[*]}; install them (Debian: sudo apt-get install -y ${missing[*]}) and run again, or set ELBO_SKIP_SETUP=1 to run without them" >&2
  exit 1
fi
echo "setup-test-env: installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq -o DPkg::Lock::Timeout=300 && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "setup-test-env: apt-get could not install ${missing[*]} (its output is above)" >&2
  exit 1
fi
rm -f "$log"

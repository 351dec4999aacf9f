#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser/).
# Playwright drives it at /usr/bin/chromium; `playwright install` (which downloads a
# browser of its own) is never used. Any failure exits non-zero: the browser tests must
# fail, never be skipped.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

echo "installing Chromium (apt-get)…" >&2
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium fonts-liberation fonts-noto-color-emoji >&2
/usr/bin/chromium --version >&2

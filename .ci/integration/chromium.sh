#!/usr/bin/env bash
# Chromium suite for sysparams/adminui: the admin pages driven end to end
# in Debian's headless Chromium through chromedp (fill and save the email
# form, see a validation error, test the connection, "Forget", one
# screenshot per page).
#
# Chromium is not a server: the Go test starts it itself (headless,
# --no-sandbox, fresh profile in the test's temp folder) against an
# in-process httptest server on 127.0.0.1, so nothing listens on a fixed
# port and nothing outlives the test.
#
# Exports for the Go test:
#   UCXKIT_CHROMIUM        the browser binary (/usr/bin/chromium)
#   UCXKIT_ADMINUI_SHOTS   folder that receives a copy of every screenshot
#                          (default /tmp/adminui-shots)
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
suite=chromium
pkgs="chromium fonts-dejavu-core"

export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/bin/chromium ]; then
  if ! apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1; then
    echo "SKIP: $suite: could not install $pkgs"
    exit 0
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "SKIP: $suite: could not install $pkgs"
  exit 0
fi

work=$(mktemp -d)
cleanup() {
  # The test kills its own browser; remove only what this run made.
  rm -rf "$work"
}
trap cleanup EXIT

export UCXKIT_CHROMIUM=/usr/bin/chromium
export UCXKIT_ADMINUI_SHOTS="${UCXKIT_ADMINUI_SHOTS:-/tmp/adminui-shots}"
export TMPDIR="$work"
echo "$suite: $(/usr/bin/chromium --version 2>/dev/null | head -1)"

# 6 minutes at most, inside the 8-minute budget.
timeout 360 go test -count=1 -run 'Integration' -v ./sysparams/adminui/... 2>&1 | tee "$work/go-test.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|screenshots in|Error'
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "FAIL: $suite (go test exit $rc)"
  tail -50 "$work/go-test.log"
  exit 1
fi
echo "$suite: screenshots copied to $UCXKIT_ADMINUI_SHOTS"
echo "PASS: $suite"

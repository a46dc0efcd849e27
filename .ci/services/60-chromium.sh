# Debian's chromium for the web app's end-to-end test (test/web-e2e.test.ts, driven by
# playwright-core; no browser is downloaded). Sourced by .ci/run; exports CAIRN_TEST_CHROMIUM.
apt_install chromium fonts-dejavu-core
section "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'not runnable')"
export CAIRN_TEST_CHROMIUM=/usr/bin/chromium

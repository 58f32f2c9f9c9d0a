#!/usr/bin/env bash
# The resident journeys and the back office in a real browser: Debian's Chromium driven by
# Playwright (tests/browser/, `playwright-core`, `postal-mime` and `axe-core` from the committed
# npm lockfile) against a real telmail-local on 127.0.0.1, with moto's Cognito for the staff
# sign-in as on AWS (the test command's moto, else one started here). Installs what is missing:
# Chromium and LibreOffice Calc from Debian (as root, with apt-get), the npm packages (`npm ci`),
# and the debug build of the workspace's binaries.
#
#   bash scripts/browser-tests.sh          # install what is missing, build, run
#   bash scripts/browser-tests.sh install  # only Chromium, LibreOffice and the npm packages
#   bash scripts/browser-tests.sh run      # only build (unless TELMAIL_BIN is set) and run
#   TELMAIL_BIN=path/to/telmail-local CHROMIUM=path/to/chromium bash scripts/browser-tests.sh run
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in
    all | install | run) ;;
    *)
        echo "usage: $0 [install|run]" >&2
        exit 2
        ;;
esac

install() {
    local chromium="${CHROMIUM:-/usr/bin/chromium}" packages=()
    # Chromium drives the pages; LibreOffice Calc (without its GUI) opens the subscriber export
    # as a spreadsheet user would.
    [ -x "$chromium" ] || packages+=(chromium)
    command -v soffice >/dev/null || packages+=(libreoffice-calc-nogui)
    if [ "${#packages[@]}" -gt 0 ]; then
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            echo "   installing Debian's ${packages[*]} (apt-get)"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
        else
            echo "missing ${packages[*]}: install Debian's packages (or set CHROMIUM)" >&2
            exit 1
        fi
    fi
    if ! command -v node >/dev/null; then
        echo "Node.js 20+ is needed for the browser tests (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
}

run() {
    if [ -z "${TELMAIL_BIN:-}" ]; then
        # The whole workspace's binaries, as scripts/test-all.sh builds them: the same dependency
        # features as `cargo test --workspace`, so nothing is compiled twice.
        cargo build --workspace --bins --locked
    fi
    # The Cognito sign-in runs against moto's user pools: the test command's moto, or one of ours.
    if [ -z "${TELMAIL_MOTO_URL:-}" ]; then
        # shellcheck source=infra/venv.sh
        source infra/venv.sh
        # shellcheck source=infra/moto.sh
        source infra/moto.sh
        moto_start
        trap moto_stop EXIT
        export TELMAIL_MOTO_URL="$MOTO_URL"
    fi
    (cd tests/browser && node --test --test-concurrency=1 --test-reporter=spec)
}

case "$what" in
    install) install ;;
    run) run ;;
    all)
        install
        run
        ;;
esac

# Sourced (not run) after infra/venv.sh: `moto_start` starts a moto server (local AWS emulator)
# on a free port of 127.0.0.1 in the background, waits until it answers and sets MOTO_URL and
# MOTO_PID; `moto_stop` stops it (safe to call twice). Callers stop it on exit with a trap.

moto_start() {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    MOTO_LOG="$(mktemp -t telmail-moto.XXXXXX)"
    # moto_server with a fix for its data.json after S3 multipart uploads (see the file).
    python3 "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
    MOTO_PID=$!
    MOTO_URL="http://127.0.0.1:$port"
    if ! python3 - "$MOTO_URL" "$MOTO_PID" <<'PY'; then
import os, sys, time, urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("moto_server exited")
    try:
        with urllib.request.urlopen(url + "/moto-api/", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("moto_server did not answer within 60 s")
PY
        cat "$MOTO_LOG" >&2
        moto_stop
        return 1
    fi
}

moto_stop() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=
    fi
    if [ -n "${MOTO_LOG:-}" ]; then
        rm -f "$MOTO_LOG"
        MOTO_LOG=
    fi
}

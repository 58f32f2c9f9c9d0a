#!/usr/bin/env bash
# Runs every test binary of the workspace (unit, integration, benchmark smoke runs) with the
# machine's clock moved, e.g. `bash scripts/moved-clock.sh +400d` or `-400d` (#25: no test may
# depend on the day it runs). Needs Debian's `faketime` and the Python tools (infra/venv.sh).
#
# The binaries are built first on the real clock: rustc hangs under libfaketime. moto runs under
# the moved clock too. One known artefact: libfaketime moves `now` but not the file times Rust
# reads through statx, so the file drop's sweep sees files just written as old and removes them
# (`files::tests::folders_and_files_are_the_owner_s_alone…` fails ahead); on a machine whose clock
# really moved, the kernel stamps files with that clock.
set -uo pipefail
cd "$(dirname "$0")/.."
offset="${1:?usage: bash scripts/moved-clock.sh +400d|-400d}"
command -v faketime >/dev/null || { echo "faketime is missing (apt-get install faketime)" >&2; exit 2; }
# shellcheck source=infra/venv.sh
source infra/venv.sh
cargo build --workspace --bins --locked
list="$(mktemp)"
cargo test --workspace --all-targets --locked --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and (m["profile"]["test"] or "bench" in m["target"]["kind"]):
        print(os.path.dirname(m["manifest_path"]), m["executable"], m["target"]["name"])
' >"$list"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
faketime -f "$offset" python3 infra/moto_server.py -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -f "$list"' EXIT
sleep 4
export TELMAIL_MOTO_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=eu-west-3 AWS_EC2_METADATA_DISABLED=true
echo "== clock moved to $(faketime -f "$offset" date -u)"
failed=()
while read -r dir exe name; do
    echo "== $name"
    (cd "$dir" && faketime -f "$offset" "$exe") || failed+=("$name")
done <"$list"
echo "== $(wc -l <"$list") binaries, ${#failed[@]} failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]

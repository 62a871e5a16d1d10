#!/usr/bin/env bash
# Runs every test of tern: formatting, lints, unit/property/golden/differential tests, and a
# bounded fuzz run of every decoder. Installs what it needs when missing.
#   FUZZ_SECONDS  seconds per fuzz target (default 30; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "fuzz every decoder for ${FUZZ_SECONDS:-30} s"
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi

step "all tests passed"

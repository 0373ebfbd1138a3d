#!/usr/bin/env bash
# Checks the formatting and the lints (warnings are errors), then runs every test of innfer, setting
# up libtorch first if needed. Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
# Two cores: few libtorch threads per test.
export INNFER_TEST_THREADS="${INNFER_TEST_THREADS:-1}"
cargo fmt --check
cargo clippy --release --locked --all-targets -- -D warnings
cargo test --release --locked "$@"

#!/usr/bin/env bash
# The main job: sets up libtorch if needed, builds innfer in release mode and runs it on the built-in
# problems. Extra arguments go to innfer (for instance --device cuda, --out DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cargo build --release --locked
exec target/release/innfer "$@"

#!/usr/bin/env bash
# The main job: sets up libtorch if needed, builds innfer in release mode and runs it on the built-in
# problems, from the current folder (the run lands in ./runs/ unless --out says otherwise).
# Extra arguments go to innfer (for instance --device cuda, --out DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec cargo run --release --locked --manifest-path "$repo_root/Cargo.toml" -- "$@"

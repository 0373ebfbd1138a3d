# Sourced by the other scripts: runs the set-up (quick when done) and exports its variables, so that
# cargo builds against the torch==2.11.0 wheel. Sets repo_root to the clone's root.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$("$repo_root/scripts/setup.sh")"

# Sourced by the scripts that run many innfer jobs (sbibm.sh, held-out.sh), once `jobs` (runs at
# once) is set: builds innfer unless INNFER names a binary, and sets `innfer` to it and `threads` to
# the options that give each run one thread when several run at once. `launch` starts a run,
# `wait_all` waits for all of them.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ -z "${INNFER:-}" ]]; then
    cargo build --release --locked --manifest-path "$repo_root/Cargo.toml" >&2
fi
innfer="${INNFER:-$repo_root/target/release/innfer}"
threads=()
if (( jobs > 1 )); then threads=(--threads 1); fi
pids=()

# launch COMMAND [ARGS…]: runs it in the background as soon as fewer than `jobs` runs are going.
launch() {
    while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
    "$@" &
    pids+=("$!")
}

# wait_all SCRIPT OUT: waits for every launched run; if one failed, says so (as SCRIPT) and exits 1.
wait_all() {
    local failed=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if (( failed )); then echo "$1: a run failed; its log is beside its folder in $2 (RUN.log)" >&2; exit 1; fi
}

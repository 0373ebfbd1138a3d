#!/usr/bin/env bash
# Creates (once) the Python environment that provides libtorch 2.11.0 through the torch==2.11.0 wheel
# (and the Dask runner's packages), in a cache folder shared by every clone on this machine, and
# prints the variables that point torch-sys at it. Idempotent: when the environment is ready it only
# prints the variables.
#
#   INNFER_CACHE   cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/innfer)
#   INNFER_VENV    the virtual environment itself (default $INNFER_CACHE/venv-torch-2.11.0)
#   INNFER_PYTHON  the Python 3 used to create it (default python3)
#   INNFER_SBIBM   where the sbibm reference posteriors go (default $INNFER_CACHE/sbibm-1.1.0)
#
# Use as:  eval "$(scripts/setup.sh)"
set -euo pipefail

torch_version="2.11.0"
# torch brings libtorch; dask, distributed and pyarrow run scripts/dask_simulator.py.
requirements=("torch==$torch_version" "numpy<3" "dask==2026.8.0" "distributed==2026.8.0" "pyarrow==26.0.1")
cache="${INNFER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/innfer}"
venv="${INNFER_VENV:-$cache/venv-torch-$torch_version}"
python="${INNFER_PYTHON:-python3}"
stamp="$venv/.innfer-ready"
sbibm_version="1.1.0"
sbibm="${INNFER_SBIBM:-$cache/sbibm-$sbibm_version}"

log() { printf 'setup: %s\n' "$*" >&2; }
ready() { [[ -f "$stamp" && "$(cat "$stamp")" == "${requirements[*]}" ]]; }

if ! ready; then
    command -v "$python" >/dev/null || { log "error: $python not found; install Python 3 first"; exit 1; }
    mkdir -p "$cache"
    # Serialise concurrent set-ups (two clones, or CI beside a developer) on one lock.
    exec 9>"$cache/setup.lock"
    flock 9
    if ! ready; then
        if [[ ! -x "$venv/bin/python" ]]; then
            log "creating $venv (first run only)"
            "$python" -m venv "$venv"
        fi
        log "installing ${requirements[*]} into $venv (first run only; about a minute, 4.6 GB)"
        "$venv/bin/python" -m pip install --quiet --progress-bar off "${requirements[@]}" >&2
        "$venv/bin/python" -c "import torch; assert torch.__version__.startswith('$torch_version'), torch.__version__" >&2
        printf '%s' "${requirements[*]}" >"$stamp"
    fi
    flock -u 9
fi

# The observations and reference posteriors of the sbibm tasks, from the sbibm wheel (18 MB; its
# dependencies are not installed): `innfer eval --metric c2st` and scripts/sbibm.sh compare with them;
# slcp_distractors' simulator reads its distractor distribution from there. The stamp names what the
# extraction holds, so that a cache from an older extraction is made again.
sbibm_contents="sbibm $sbibm_version: ten tasks, parameter_i names, distractors"
sbibm_ready() { [[ -f "$sbibm/.innfer-ready" && "$(cat "$sbibm/.innfer-ready")" == "$sbibm_contents" ]]; }
if ! sbibm_ready; then
    mkdir -p "$cache"
    exec 9>"$cache/setup.lock"
    flock 9
    if ! sbibm_ready; then
        log "fetching the sbibm $sbibm_version reference posteriors into $sbibm (first run only)"
        wheels="$(mktemp -d)"
        "$venv/bin/python" -m pip download --quiet --no-deps --dest "$wheels" "sbibm==$sbibm_version" >&2
        "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/fetch_sbibm.py" "$wheels"/sbibm-*.whl "$sbibm" >&2
        rm -rf "$wheels"
        printf '%s' "$sbibm_contents" >"$sbibm/.innfer-ready"
    fi
    flock -u 9
fi

cat <<VARS
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:\$PATH"
export LIBTORCH_USE_PYTORCH=1
export INNFER_SBIBM="$sbibm"
VARS

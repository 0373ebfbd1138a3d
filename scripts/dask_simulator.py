#!/usr/bin/env python3
"""Runs a simulator on a Dask cluster, speaking innfer's simulator protocol.

    python3 scripts/dask_simulator.py [--scheduler tcp://HOST:8786] [--chunk 1000] -- COMMAND [ARG...]

reads x rows as CSV with a header on stdin, splits them into chunks of --chunk rows, runs COMMAND on
each chunk on the Dask workers (x rows in on its stdin, y rows out on its stdout, like any
`--simulator`), and writes the y rows to stdout with one header, in the order of the input. So
`innfer train --simulator 'python3 scripts/dask_simulator.py -- python3 sim.py'` (and `eval`, `abc
--run`, `sample --resimulate`, sequential rounds) run the simulations on the cluster.

Without --scheduler a local cluster is started with one single-threaded worker per core (--workers).
A chunk whose command fails is retried once on another worker; if it fails again the batch fails
with that worker's stderr. A worker lost during a batch loses no row: Dask runs its chunks again.

With --out DIR the pairs (x, y) are written as Parquet shards (DIR/part-NNNNNN.parquet, one per
chunk) as the chunks finish, and nothing to stdout: a long job survives a crash, and running it again
on the same input skips the shards already written. `innfer train --data DIR` reads the shards.

COMMAND must exist, at the same path, on every worker. On a real cluster start `dask scheduler` on one
machine and `dask worker tcp://HOST:8786` on each machine, then pass --scheduler tcp://HOST:8786.
dask, distributed and pyarrow come with innfer's set-up (scripts/setup.sh); when the Python running
this script lacks them, the script runs itself again with innfer's environment.
"""
import argparse
import hashlib
import io
import json
import logging
import os
import shlex
import subprocess
import sys
import time

MANIFEST = "_runner.json"


def innfer_venv():
    """innfer's cached Python environment (scripts/setup.sh), if it exists and is not this one."""
    venv = os.environ.get("INNFER_VENV")
    if not venv:
        cache = os.environ.get("INNFER_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "innfer"
        )
        venv = os.path.join(cache, "venv-torch-2.11.0")
    python = os.path.join(venv, "bin", "python")
    if not os.access(python, os.X_OK) or os.path.realpath(venv) == os.path.realpath(sys.prefix):
        return None
    return python


def fail(message):
    sys.stderr.write(f"dask_simulator: error: {message}\n")
    sys.exit(1)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="dask_simulator.py",
        description="Run a simulator (innfer's --simulator protocol: x CSV on stdin, y CSV on stdout) "
        "on a Dask cluster, chunk by chunk.",
        usage="%(prog)s [options] -- COMMAND [ARG...]",
    )
    parser.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler "
                        "(default: start a local cluster)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="workers of the local cluster (default: one per core)")
    parser.add_argument("--chunk", type=int, default=1000, help="rows per chunk (default 1000)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the scheduler and its workers (default 30)")
    parser.add_argument("--out", metavar="DIR", help="write (x, y) pairs as Parquet shards into DIR "
                        "instead of y to stdout; finished shards are kept and skipped on a rerun")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the simulator, after --")
    arguments = parser.parse_args(argv)
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        parser.error("no simulator command: give it after --, e.g. -- python3 sim.py")
    # One word is a shell command line (as innfer's --simulator is); several are argv, quoted.
    arguments.command = command[0] if len(command) == 1 else shlex.join(command)
    if arguments.chunk < 1:
        parser.error(f"--chunk must be at least 1, not {arguments.chunk}")
    if arguments.workers < 1:
        parser.error(f"--workers must be at least 1, not {arguments.workers}")
    return arguments


def run_chunk(command, text, folder):
    """Runs the simulator on one chunk, on a worker: (worker, exit code, stdout, stderr)."""
    from distributed import get_worker

    done = subprocess.run(["sh", "-c", command], input=text, capture_output=True, text=True,
                          cwd=folder if os.path.isdir(folder) else None)
    return get_worker().address, done.returncode, done.stdout, done.stderr


def connect(arguments):
    from distributed import Client, LocalCluster

    # The runner says what failed itself; Dask's own logs of a failing or closing cluster are noise.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if arguments.scheduler is None:
        cluster = LocalCluster(n_workers=arguments.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        return Client(cluster)
    try:
        client = Client(arguments.scheduler, timeout=arguments.timeout)
        client.wait_for_workers(1, timeout=arguments.timeout)
    except (OSError, TimeoutError) as error:
        fail(f"cannot reach a Dask scheduler with workers at {arguments.scheduler} within "
             f"{arguments.timeout:g} s ({error})")
    return client


class Shards:
    """The Parquet shards of --out: one per chunk, written atomically, skipped when present."""

    def __init__(self, folder, chunk, rows, digest):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        manifest = {"chunk": chunk, "rows": rows, "input_sha256": digest}
        path = os.path.join(folder, MANIFEST)
        if os.path.exists(path):
            with open(path) as file:
                if json.load(file) != manifest:
                    fail(f"{folder} holds shards of another input or chunk size ({path}): use a new folder")
        else:
            with open(path, "w") as file:
                json.dump(manifest, file)

    def path(self, index):
        return os.path.join(self.folder, f"part-{index:06d}.parquet")

    def done(self, index):
        return os.path.exists(self.path(index))

    def write(self, index, x_text, y_text):
        import pyarrow as pa
        import pyarrow.csv
        import pyarrow.parquet as pq

        x = pyarrow.csv.read_csv(io.BytesIO(x_text.encode()))
        y = pyarrow.csv.read_csv(io.BytesIO(y_text.encode()))
        clash = set(x.column_names) & set(y.column_names)
        if clash:
            fail(f"x and y share the column names {sorted(clash)}")
        # float32, the precision innfer reads.
        columns = {name: table[name].cast(pa.float32()) for table in (x, y) for name in table.column_names}
        pairs = pa.table(columns)
        temporary = os.path.join(self.folder, f".part-{index:06d}.parquet.tmp")
        pq.write_table(pairs, temporary, compression="zstd")
        os.replace(temporary, self.path(index))


def simulate(arguments, header, rows):
    """Runs every chunk and returns (y header, y rows per chunk) — or writes shards with --out."""
    chunks = [rows[start:start + arguments.chunk] for start in range(0, len(rows), arguments.chunk)]
    shards = None
    if arguments.out:
        digest = hashlib.sha256("".join([header, *rows]).encode()).hexdigest()
        shards = Shards(arguments.out, arguments.chunk, len(rows), digest)
    todo = [index for index in range(len(chunks)) if shards is None or not shards.done(index)]
    if shards and len(todo) < len(chunks):
        sys.stderr.write(f"dask_simulator: {len(chunks) - len(todo)} of {len(chunks)} shards already written\n")
    outputs = [None] * len(chunks)
    if not todo:
        return None, outputs
    client = connect(arguments)
    try:
        return run_chunks(client, arguments, header, chunks, todo, shards)
    finally:
        cluster = client.cluster  # the local cluster this runner started, or None
        client.close()
        if cluster is not None:
            cluster.close()


def run_chunks(client, arguments, header, chunks, todo, shards):
    """Runs the chunks `todo` on the cluster: as simulate()."""
    from distributed import as_completed

    outputs = [None] * len(chunks)
    folder = os.getcwd()
    inputs = {index: header + "".join(chunks[index]) for index in todo}
    pending = {client.submit(run_chunk, arguments.command, inputs[index], folder, pure=False): index for index in todo}
    retried = set()
    y_header = None
    finished = 0
    started = time.monotonic()
    queue = as_completed(pending)
    for future in queue:
        index = pending.pop(future)
        first = index * arguments.chunk + 1
        where = f"chunk {index + 1} of {len(chunks)} (rows {first}–{first + len(chunks[index]) - 1})"
        try:
            worker, code, stdout, stderr = future.result()
        except Exception as error:  # a task Dask gave up on: its workers kept dying
            fail(f"{where}: {type(error).__name__}: {error}")
        if code != 0:
            if index not in retried:
                retried.add(index)
                # On another worker when there is one.
                others = [address for address in client.scheduler_info()["workers"] if address != worker]
                retry = client.submit(run_chunk, arguments.command, inputs[index], folder, pure=False,
                                      workers=others or None)
                pending[retry] = index
                queue.add(retry)
                continue
            fail(f"{where} failed twice, last on worker {worker}: `{arguments.command}` exited with "
                 f"code {code}; its stderr:\n{stderr.rstrip()}")
        head, _, body = stdout.partition("\n")
        lines = body.splitlines(keepends=True)
        if len(lines) != len(chunks[index]):
            fail(f"{where}: `{arguments.command}` wrote {len(lines)} rows for {len(chunks[index])} input rows")
        if y_header is not None and head != y_header:
            fail(f"{where}: the header '{head}' differs from the first chunk's '{y_header}'")
        y_header = head
        if shards:
            shards.write(index, inputs[index], stdout)
            finished += 1
            sys.stderr.write(f"dask_simulator: {finished}/{len(todo)} chunks written "
                             f"({time.monotonic() - started:.0f} s)\n")
        else:
            outputs[index] = lines
    return y_header, outputs


def main(argv):
    arguments = parse_arguments(argv)
    header = sys.stdin.readline()
    if not header.strip():
        fail("no input: expected x rows as CSV with a header on stdin")
    if not header.endswith("\n"):
        header += "\n"
    rows = [line if line.endswith("\n") else line + "\n" for line in sys.stdin if line.strip()]
    y_header, outputs = simulate(arguments, header, rows)
    if arguments.out:
        return
    if y_header is None:  # no rows: run the command once on the header alone, for its y header
        done = subprocess.run(["sh", "-c", arguments.command], input=header, capture_output=True, text=True)
        if done.returncode != 0:
            fail(f"`{arguments.command}` exited with code {done.returncode}; its stderr:\n{done.stderr.rstrip()}")
        y_header = done.stdout.partition("\n")[0]
    out = sys.stdout
    out.write(y_header + "\n")
    for lines in outputs:
        out.writelines(lines)
    out.flush()


if __name__ == "__main__":
    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        python = innfer_venv()
        if python is None:
            fail("dask, distributed and pyarrow are not installed: run scripts/setup.sh (it installs them "
                 "into innfer's environment) or `pip install 'dask[distributed]' pyarrow`")
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    main(sys.argv[1:])

"""Writes tests/data/pyarrow-shards: Parquet as pyarrow (and so Dask and Ray) writes it, for the
interoperability test of `innfer train --data`. Run once with pyarrow installed; not needed by the tests.

y = a + 2 b + noise; columns a (float64), b (int64), y (float32); snappy; two row groups per shard.
Also writes pyarrow-shards-values.csv: the same rows as pyarrow reads them, which the test compares
with what innfer reads.
"""
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

folder = pathlib.Path(__file__).parent / "pyarrow-shards"
folder.mkdir(exist_ok=True)
rng = np.random.default_rng(0)
rows = []
for shard in range(2):
    a = rng.normal(size=300)
    b = rng.integers(-5, 5, size=300)
    y = (a + 2 * b + 0.1 * rng.normal(size=300)).astype(np.float32)
    table = pa.table({"a": a, "b": b, "y": y, "note": [f"row {i}" for i in range(300)]})
    pq.write_table(table, folder / f"part-{shard}.snappy.parquet", compression="snappy", row_group_size=200)
    read = pq.read_table(folder / f"part-{shard}.snappy.parquet").to_pydict()
    rows += zip(read["a"], read["b"], read["y"])
(folder / "_SUCCESS").write_text("")
with open(folder.parent / "pyarrow-shards-values.csv", "w") as values:
    values.write("a,b,y\n")
    values.writelines(f"{a!r},{b},{y!r}\n" for a, b, y in rows)

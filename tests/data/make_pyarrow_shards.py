"""Writes tests/data/pyarrow-shards: Parquet as pyarrow (and so Dask and Ray) writes it, for the
interoperability test of `innfer train --data`. Run once with pyarrow installed; not needed by the tests.

y = a + 2 b + noise; columns a (float64), b (int64), y (float32); snappy; two row groups per shard.
"""
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

folder = pathlib.Path(__file__).parent / "pyarrow-shards"
folder.mkdir(exist_ok=True)
rng = np.random.default_rng(0)
for shard in range(2):
    a = rng.normal(size=300)
    b = rng.integers(-5, 5, size=300)
    y = (a + 2 * b + 0.1 * rng.normal(size=300)).astype(np.float32)
    table = pa.table({"a": a, "b": b, "y": y, "note": [f"row {i}" for i in range(300)]})
    pq.write_table(table, folder / f"part-{shard}.snappy.parquet", compression="snappy", row_group_size=200)
(folder / "_SUCCESS").write_text("")

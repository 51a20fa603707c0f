"""Batch reading on a Ray cluster: the same per-batch function (``batch.read_batch``) over Ray Data.

    pip install "digitscope[ray]"
    RAY_ADDRESS=ray://head:10001 digitscope read s3://bucket/scans/ --out results.jsonl --engine ray

Ray Data lists and fetches the files (a local directory, or an object-store prefix Ray's filesystems reach:
s3://, gs://, ...) in its read tasks; ``map_batches`` hands their bytes to worker actors, each of which loads
the model once and reads batch after batch; this process writes the lines as they stream back, so the
output is the local engine's, line for line (paths as Ray names them). Ray's streaming executor bounds the
data in flight. Without ``RAY_ADDRESS`` (or a running ``ray.init``), a local Ray instance is started.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .batch import IMAGE_SUFFIXES, open_output, read_batch


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is its own extra
    except ImportError as exc:
        raise ImportError('--engine ray needs Ray Data: pip install "digitscope[ray]" '
                          '(or pip install "ray[data]")') from exc
    return ray


class ReadBatches:
    """A Ray Data worker: loads the model once, then reads batch after batch of {"path", "bytes"} rows."""

    def __init__(self, model: str, expect_length: int | None, charset: str | None, done: set[str],
                 max_risk: float | None = None, line_model: str | None = None):
        from ..inference.classifier import load
        from .reader import Reader

        self.reader = Reader(load(model), max_risk=max_risk, line_model=line_model)
        self.expect_length, self.charset, self.done = expect_length, charset, done

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        keep = [i for i, path in enumerate(batch["path"]) if str(path) not in self.done]
        files = [str(batch["path"][i]) for i in keep]
        sources = [bytes(batch["bytes"][i]) for i in keep]
        lines = read_batch(self.reader, files, sources, self.expect_length, self.charset)
        return {"line": np.array([json.dumps(line) for line in lines], dtype=object),
                "error": np.array(["error" in line for line in lines], dtype=bool)}


def read_to_jsonl_ray(sources: Iterable[str | Path], out: str | Path, model: str = "default",
                      concurrency: int | None = None, batch_size: int = 64, resume: bool = False,
                      limit: int | None = None, expect_length: int | None = None, charset: str | None = None,
                      on_batch: Callable[[int, int], None] | None = None, max_risk: float | None = None,
                      line_model: str | None = None) -> dict:
    """`batch.read_to_jsonl` on Ray Data. `sources`: directories, object-store prefixes, files or local globs;
    `model` is loaded by every worker, so a path must be reachable from each node. concurrency: worker
    actors (default: one per CPU of the cluster but one, which Ray's read tasks need). Returns the same
    summary."""
    ray = _ray()
    done, skipped = open_output(out, resume)
    if not ray.is_initialized():
        ray.init()  # RAY_ADDRESS, when set, names the cluster to join
    if concurrency is None:
        # Each actor holds a CPU for good; Ray's read tasks need one more, or the pipeline waits forever.
        concurrency = max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)
    paths = []
    for source in map(str, sources):
        paths += sorted(glob.iglob(source, recursive=True)) if glob.has_magic(source) else [source]
    dataset = ray.data.read_binary_files(paths, include_paths=True,
                                         file_extensions=[s.lstrip(".") for s in IMAGE_SUFFIXES])
    lines = dataset.map_batches(ReadBatches, batch_size=batch_size, batch_format="numpy",
                                compute=ray.data.ActorPoolStrategy(size=concurrency),
                                fn_constructor_kwargs={"model": model, "expect_length": expect_length,
                                                       "charset": charset, "done": done, "max_risk": max_risk,
                                                       "line_model": line_model})
    started = time.perf_counter()
    totals = {"read": 0, "errors": 0}
    with open(out, "a", encoding="utf-8") as sink:
        for batch in lines.iter_batches(batch_size=None, batch_format="numpy"):
            chunk, failed = list(batch["line"]), batch["error"]
            if limit is not None:
                chunk = chunk[:limit - totals["read"]]
            sink.write("".join(line + "\n" for line in chunk))
            sink.flush()
            errors = int(failed[:len(chunk)].sum())
            totals["read"] += len(chunk)
            totals["errors"] += errors
            if on_batch is not None:
                on_batch(len(chunk), errors)
            if limit is not None and totals["read"] >= limit:
                break
    seconds = time.perf_counter() - started
    return {**totals, "skipped": skipped, "seconds": round(seconds, 3),
            "images_per_s": round(totals["read"] / seconds, 1) if seconds > 0 else None, "out": str(out)}

"""Batch reading: millions of image files to one JSON line each, with bounded memory, resumable.

    summary = read_to_jsonl(["scans/", "more/*.png"], "results.jsonl", Reader(), workers=4, resume=True)

The pipeline (local engine): file names are streamed lazily (``os.scandir`` / ``glob.iglob``, never a list
of all files) into a fixed-size queue; worker processes decode each file and find its candidate digits
(``reader.prepare``, the CPU-heavy half); a second fixed-size queue hands them to this process, which
scores the candidates of a whole batch of images in one classifier call (``Reader.read_prepared``) and
appends one line per image to the output, flushed batch by batch. Memory is the queues, a batch, and the
names of the files already read (for ``resume``), whatever the number of files.

A line is the Reader's result (``Reading.to_dict``) plus ``"file"``; a file that cannot be read gets
``{"file", "error", "rejected": true, "reason": "error", ...}`` and the others go on. Lines come in the order
the images finish, not the order of the names.

``read_batch`` is the per-batch function every engine runs: the Ray engine (``ray_engine``) maps it over a
directory or object-store prefix with Ray Data.
"""

from __future__ import annotations

import glob
import json
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..imageio import ImageError, read_image
from .reader import Prepared, Reader, prepare
from .segment import SegmentConfig

# What `read DIR` picks up from a directory; files named explicitly or by a glob are read whatever their name.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
QUEUE_BATCHES = 2  # each queue holds this many batches: enough to keep the model busy, small enough to bound memory


def iter_image_files(sources: Iterable[str | Path]) -> Iterator[str]:
    """The files of each source, lazily: a directory (recursively, image suffixes only), a glob pattern, or a
    file. A source that names nothing raises FileNotFoundError when it is reached."""
    for source in map(str, sources):
        if os.path.isdir(source):
            yield from _walk(source)
        elif glob.has_magic(source):
            yield from (p for p in glob.iglob(source, recursive=True) if os.path.isfile(p))
        elif os.path.exists(source):
            yield source
        else:
            raise FileNotFoundError(f"{source}: no such file, directory or glob match "
                                    "(object-store prefixes such as s3:// are read with --engine ray)")


def _walk(directory: str) -> Iterator[str]:
    # Depth-first with one open directory handle per level: memory does not grow with the number of files.
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir():
                yield from _walk(entry.path)
            elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                yield entry.path


def prepare_file(file: str, source: str | bytes | None = None, config: SegmentConfig = SegmentConfig()
                 ) -> Prepared | str:
    """Decode a file (or its bytes, `source`) and find its candidate digits as `config` cuts them (the Reader's);
    the error message when it cannot be read or holds no usable image."""
    try:
        return prepare(read_image(file if source is None else source, name=file), file, config)
    except (ImageError, OSError) as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - an image no rule foresaw must not stop a million-file job
        return f"{file}: could not be read ({type(exc).__name__}: {exc})"


def read_prepared_batch(reader: Reader, files: list[str], prepared: list[Prepared | str],
                        expect_length: int | None = None, charset: str | None = None) -> list[dict]:
    """One result line per file: the Reader's answer for the prepared ones (one classifier call for all of
    them), an error line for the others."""
    good = [p for p in prepared if not isinstance(p, str)]
    answers = iter(reader.read_prepared(good, expect_length, charset))
    return [error_line(file, p) if isinstance(p, str) else {"file": file, **next(answers).to_dict()}
            for file, p in zip(files, prepared, strict=True)]


def read_batch(reader: Reader, files: list[str], sources: list[bytes] | None = None,
               expect_length: int | None = None, charset: str | None = None) -> list[dict]:
    """The per-batch function: decode, segment and read a batch of files (from `sources`, their bytes, when
    the engine has already fetched them), one result line per file."""
    sources = [None] * len(files) if sources is None else sources
    prepared = [prepare_file(file, source, reader.config) for file, source in zip(files, sources, strict=True)]
    return read_prepared_batch(reader, files, prepared, expect_length, charset)


def error_line(file: str, message: str) -> dict:
    return {"file": file, "text": "", "confidence": None, "rejected": True, "reason": "error", "digits": [],
            "error": message}


def open_output(out: str | Path, resume: bool) -> tuple[set[str], int]:
    """Get `out` ready to append to: the files it already holds, and how many lines it has. With `resume`, a
    torn last line (from an interruption mid-write) is cut off, so that file is read again; without it, an
    existing non-empty file is refused rather than overwritten."""
    out = Path(out)
    if not out.exists() or out.stat().st_size == 0:
        return set(), 0
    if not resume:
        raise FileExistsError(f"{out} already holds results: pass --resume to go on where it stopped, "
                              "or choose another --out")
    done: set[str] = set()
    good_end = 0
    with open(out, "rb") as f:
        for line in f:
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("torn")
                done.add(json.loads(line)["file"])
            except (ValueError, KeyError, TypeError):
                break  # the first line that is not a whole result: everything after it is rewritten
            good_end += len(line)
    if good_end < out.stat().st_size:
        with open(out, "r+b") as f:
            f.truncate(good_end)
    return done, len(done)


# ---------------------------------------------------------------------------------------------- local engine

def _prepare_worker(names: mp.Queue, prepared: mp.Queue, config: SegmentConfig) -> None:
    """A worker process: file names in, (name, Prepared | error message) out, until the None sentinel."""
    while (file := names.get()) is not None:
        prepared.put((file, prepare_file(file, config=config)))
    prepared.put(None)


def _feed(files: Iterator[str], names: queue.Queue | mp.Queue, sentinels: int, failure: list) -> None:
    try:
        for file in files:
            names.put(file)
    except BaseException as exc:  # a missing source: reported by the main thread once the rest is read
        failure.append(exc)
    finally:
        for _ in range(sentinels):
            names.put(None)


def _pending(sources: Iterable[str | Path], done: set[str], limit: int | None) -> Iterator[str]:
    count = 0
    for file in iter_image_files(sources):
        if file in done:
            continue
        if limit is not None and count >= limit:
            return
        count += 1
        yield file


def read_to_jsonl(sources: Iterable[str | Path], out: str | Path, reader: Reader, workers: int | None = None,
                  batch_size: int = 64, resume: bool = False, limit: int | None = None,
                  expect_length: int | None = None, charset: str | None = None,
                  on_batch: Callable[[int, int], None] | None = None) -> dict:
    """Read every image of `sources` (directories, globs, files) into `out`, one JSON line each.

    workers: decoding processes (default: one per core; 0 decodes in this process). resume: skip the files
    `out` already holds. limit: read at most this many new files. on_batch(lines, errors): called after each
    batch is written. Returns {"read", "errors", "skipped", "seconds", "images_per_s", "out"}."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 0:
        raise ValueError(f"workers must be 0 (decode in this process) or more, got {workers}")
    done, skipped = open_output(out, resume)
    files = _pending(sources, done, limit)
    started = time.perf_counter()
    totals = {"read": 0, "errors": 0}
    with open(out, "a", encoding="utf-8") as sink:
        def write(batch_files: list[str], prepared: list[Prepared | str]) -> None:
            lines = read_prepared_batch(reader, batch_files, prepared, expect_length, charset)
            sink.write("".join(json.dumps(line) + "\n" for line in lines))
            sink.flush()
            errors = sum(1 for line in lines if "error" in line)
            totals["read"] += len(lines)
            totals["errors"] += errors
            if on_batch is not None:
                on_batch(len(lines), errors)

        if workers == 0:
            _read_here(files, batch_size, reader.config, write)
        else:
            _read_with_workers(files, workers, batch_size, reader.config, write)
    seconds = time.perf_counter() - started
    return {**totals, "skipped": skipped, "seconds": round(seconds, 3),
            "images_per_s": round(totals["read"] / seconds, 1) if seconds > 0 else None, "out": str(out)}


def _read_here(files: Iterator[str], batch_size: int, config: SegmentConfig, write) -> None:
    batch: list[str] = []
    for file in files:
        batch.append(file)
        if len(batch) == batch_size:
            write(batch, [prepare_file(f, config=config) for f in batch])
            batch = []
    if batch:
        write(batch, [prepare_file(f, config=config) for f in batch])


def _read_with_workers(files: Iterator[str], workers: int, batch_size: int, config: SegmentConfig, write) -> None:
    # Spawned, not forked: a fork of a process whose torch has started its thread pool can hang.
    context = mp.get_context("spawn")
    names = context.Queue(maxsize=QUEUE_BATCHES * batch_size)
    prepared = context.Queue(maxsize=QUEUE_BATCHES * batch_size)
    processes = [context.Process(target=_prepare_worker, args=(names, prepared, config), daemon=True)
                 for _ in range(workers)]
    for process in processes:
        process.start()
    failure: list[BaseException] = []
    feeder = threading.Thread(target=_feed, args=(files, names, workers, failure), daemon=True)
    feeder.start()
    try:
        batch_files: list[str] = []
        batch: list[Prepared | str] = []
        running = workers
        while running:
            try:
                item = prepared.get(timeout=5)
            except queue.Empty:
                if not any(process.is_alive() for process in processes):
                    raise RuntimeError("the decoding workers stopped before the end (out of memory?)") from None
                continue
            if item is None:
                running -= 1
                continue
            batch_files.append(item[0])
            batch.append(item[1])
            if len(batch) == batch_size:
                write(batch_files, batch)
                batch_files, batch = [], []
        if batch:
            write(batch_files, batch)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    if failure:
        raise failure[0]

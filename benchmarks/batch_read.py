"""Batch reading (`digitscope read DIR --out results.jsonl`): images/s and peak memory over many PNG files.

    python benchmarks/batch_read.py --files 10000 100000
    python benchmarks/batch_read.py --files 2000 --strings --no-ray    # 5-digit strings, the Reader's speed target

Writes single-digit PNG files (mnist:test digits, cycled; with --strings, free-form strings of 5 of them, as
benchmarks/read.py times one at a time; timing only, the answers are not looked at) in
folders of the smallest count each, then reads them into a JSON-lines file, every configuration in its own
process so its peak RSS is its own: one decoding worker vs one per core on the smallest count; one per core
on every count (peak RSS must not grow with the number of files: the queues are fixed, the file names are
streamed); and the Ray engine (a local instance with one CPU per core) vs the local one on the same files,
every count. Peak RSS: the main process (model, queues, writer), and the largest decoding worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import _report
from PIL import Image


def write_files(root: Path, total: int, per_folder: int, strings: bool) -> list[Path]:
    """`total` PNG files in folders of `per_folder`; returns the folders."""
    import digitscope.data
    from digitscope.data import synthetic

    test = digitscope.data.load("mnist:test")
    digits = test.images  # (10000, 28, 28) uint8
    if strings:  # a few thousand distinct strings, cycled like the digits
        digits = synthetic.freeform_strings(test.images, test.labels, min(total, 2000), 4, min_len=5, max_len=5).images
    folders = []
    for start in range(0, total, per_folder):
        folder = root / f"part{start // per_folder}"
        folder.mkdir()
        for i in range(start, min(total, start + per_folder)):
            Image.fromarray(digits[i % len(digits)]).save(folder / f"{i:07d}.png")
        folders.append(folder)
    return folders


def peak_rss_mib() -> float:
    """This process's own peak RSS: /proc's VmHWM, which starts afresh at exec, where ru_maxrss keeps the peak of
    the process it was forked from (the parent, which made the files: 3.2 GB for 2,000 strings)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One configuration, in its own process: read the folders, print the summary and the peak RSS."""
    if args.engine == "ray":
        import ray

        from digitscope.reading.ray_engine import read_to_jsonl_ray

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        summary = read_to_jsonl_ray(args.sources, args.out, batch_size=args.batch_size)
    else:
        from digitscope.reading import Reader
        from digitscope.reading.batch import read_to_jsonl

        summary = read_to_jsonl(args.sources, args.out, Reader(), workers=args.workers, batch_size=args.batch_size)
    summary["main_rss_mib"] = peak_rss_mib()
    summary["worker_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(summary))


def run(folders: list[Path], out: Path, engine: str, workers: int, batch_size: int) -> dict:
    out.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child", "--engine", engine, "--workers", str(workers),
               "--batch-size", str(batch_size), "--out", str(out), *map(str, folders)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    lines = sum(1 for _ in open(out))
    assert lines == summary["read"], f"{lines} lines for {summary['read']} images"
    print(engine, workers, summary, flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000], help="numbers of files")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray engine")
    parser.add_argument("--strings", action="store_true", help="5-digit free-form strings instead of single digits")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("sources", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    counts = sorted(args.files)
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = write_files(root, counts[-1], counts[0], args.strings)
        out = root / "results.jsonl"

        def measure(name: str, count: int, engine: str, workers: int) -> None:
            s = run(folders[:count // counts[0]], out, engine, workers, args.batch_size)
            rows.append((name, count, s["images_per_s"], s["main_rss_mib"], s["worker_rss_mib"]))

        measure("local, 1 worker", counts[0], "local", 1)
        for count in counts:
            measure(f"local, {cores} workers", count, "local", cores)
        if not args.no_ray:
            for count in counts:
                measure(f"ray, {max(1, cores - 1)} actors", count, "ray", 0)

    table = ["| engine | files | images/s | peak RSS main (MiB) | peak RSS largest worker (MiB) |",
             "|---|---:|---:|---:|---:|"]
    table += [f"| {name} | {count:,} | {rate:.0f} | {main:.0f} | {worker:.0f} |"
              for name, count, rate, main, worker in rows]
    what = ("5-digit free-form strings of mnist:test digits (2,000 distinct, cycled)" if args.strings
            else "Single-digit 28x28 PNGs of mnist:test (cycled)")
    note = (f"{what} on local disk, batch size {args.batch_size}, one run "
            "each, every configuration in its own process. Workers decode and segment; the main process scores "
            "each batch in one classifier call and writes the lines. Ray: a local instance with one CPU per core, "
            "one actor per CPU but one (Ray's read tasks need it); the Ray row's RSS is its driver only (the "
            "actors run under Ray's raylet, not as children).")
    _report.append("Batch reading to JSON lines (digitscope read DIR --out)", "\n".join(table) + "\n\n" + note)


if __name__ == "__main__":
    main()

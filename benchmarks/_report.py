"""Shared by the benchmarks: describe the machine, and append a dated section to benchmarks/LOG.md.

LOG.md is the history, appended to and never rewritten; the current figure of each measure is in docs/results.md.

    python benchmarks/_report.py    # prints this machine's description, as the benchmarks write it
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path

import torch

from digitscope.runtime import bf16_supported

LOG = Path(__file__).parent / "LOG.md"


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    # Whether the CPU runs bf16 (AVX512-BF16 or AMX) sets training speed more than anything else named here.
    bf16 = "bf16" if bf16_supported(torch.device("cpu")) else "no bf16 (float32 training)"
    return (f"{cpu}, {os.cpu_count()} cores, {bf16}, {gpu}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}")


def command() -> str:
    """The command line as it can be typed again: arguments with spaces or quotes are quoted."""
    return "python " + shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:])


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "n/a"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def append(title: str, body: str) -> None:
    """Print the section and append it to benchmarks/LOG.md with the date, the machine and the command."""
    section = (f"\n## {title}\n\n_{dt.date.today().isoformat()} · {machine()}_\n\n"
               f"```\n{command()}\n```\n\n{body.strip()}\n")
    print(section)
    with open(LOG, "a") as f:
        f.write(section)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    print(machine())

"""Deep ensembles from the one loop: member K is the same recipe with seed + K, trained into OUT/member<K>, then all
are bundled into OUT/model. Members train in parallel processes where the cores allow, one after another otherwise."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from . import distributed
from .config import TrainConfig
from .loop import train


def train_ensemble(cfg: TrainConfig, out: Path, members: int, member: int | None, argv: list[str],
                   progress: bool) -> None:
    """Train ``members`` members (or member ``member`` alone: a job array trains them apart, `digitscope ensemble
    combine` bundles them). ``argv``: the `digitscope train` options that made ``cfg``, to start a member process
    with. With 4 or more cores, members run as separate processes, one per pair of cores (each with its share of
    the threads); with fewer, or under torchrun (each member then data parallel), one after another here."""
    from ..uncertainty.deep_ensemble import combine_members

    out = Path(out)
    if members < 2:
        raise ValueError(f"--ensemble needs at least 2 members, not {members}")
    ks = list(range(members)) if member is None else [member]
    if any(not 0 <= k < members for k in ks):
        raise ValueError(f"--member must be in 0..{members - 1}, not {member}")
    command = "digitscope train " + " ".join(argv)
    cores = os.cpu_count() or 1
    parallel = 1 if distributed.under_torchrun() else max(1, min(len(ks), cores // 2))
    if parallel == 1:
        for k in ks:
            run = out / f"member{k}"
            train(dataclasses.replace(cfg, seed=cfg.seed + k), run, resume=(run / "checkpoint.safetensors").exists(),
                  progress=progress, command=command if member is not None else f"{command} --member {k}")
    else:  # each process resumes its own member where it finds a checkpoint
        train_in_parallel([a for a in argv if a != "--resume"], ks, parallel, cores // parallel)
    if member is None and distributed.is_main_process():
        combine_members([out / f"member{k}" for k in range(members)], out / "model", command=command)


def train_in_parallel(argv: list[str], members: list[int], parallel: int, threads: int) -> None:
    """`digitscope train ARGV --member K` for each K, ``parallel`` processes at a time of ``threads`` threads each."""
    pending = [[sys.executable, "-m", "digitscope", "train", *argv, "--member", str(k)] for k in members]
    running: list[subprocess.Popen] = []
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    while pending or running:
        while pending and len(running) < parallel:
            running.append(subprocess.Popen(pending.pop(0), env=env))
        done = running.pop(0)
        if done.wait() != 0:
            for p in running:
                p.terminate()
            raise ValueError(f"member training failed: {' '.join(done.args)}")

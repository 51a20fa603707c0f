"""Data-parallel training on PyTorch's own engine: joining the process group that torchrun sets up, the few
collectives the training loop needs, and launching torchrun from `digitscope train --distributed`.

    torchrun --nproc-per-node 2 -m digitscope train --preset fast --out runs/ddp
    digitscope train --distributed --nproc-per-node 2 --preset fast --out runs/ddp

A process started by torchrun finds RANK, WORLD_SIZE and LOCAL_RANK in its environment; one started any
other way is rank 0 of 1 and never touches ``torch.distributed``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0  # the process's index on its own machine: its GPU

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def under_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def join(device: torch.device) -> tuple[Ranks, torch.device]:
    """This process's place in the run and the device it trains on (its own GPU on a GPU machine). Joins the
    process group (NCCL on GPU, gloo on CPU) once per process; a run of one process joins nothing."""
    if not under_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return Ranks(), device
    ranks = Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device), device_id=device if device.type == "cuda" else None)
    return ranks, device


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def leave(in_step: bool = False) -> None:
    """Leave the process group. ``in_step``: every rank is leaving at this point of the run, so wait for the
    others first: a rank that tears its connections down while another still uses them can make gloo abort that
    other process (seen as a SIGABRT, "terminate called without an active exception", at the end of a run). After
    an error, leave without waiting: the other ranks may never get there."""
    if dist.is_initialized():
        if in_step:
            dist.barrier()
        dist.destroy_process_group()


def sum_over_ranks(ranks: Ranks, tensor: torch.Tensor) -> torch.Tensor:
    if ranks.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def share_from_main(ranks: Ranks, value: T) -> T:
    """Rank 0's ``value``, on every rank."""
    if not ranks.distributed:
        return value
    box = [value if ranks.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def from_main(ranks: Ranks, make: Callable[[], T]) -> T:
    """``make()`` run on rank 0 alone, its result (or its error, raised on every rank) sent to all ranks: a
    failure on rank 0 stops every rank with the same message."""
    if not ranks.distributed:
        return make()
    result: object = None
    if ranks.is_main:
        try:
            result = make()
        except Exception as exc:  # noqa: BLE001 - re-raised below, on every rank
            result = exc
    result = share_from_main(ranks, result)
    if isinstance(result, Exception):
        raise result
    return result


def gather(ranks: Ranks, value: T) -> list[T]:
    if not ranks.distributed:
        return [value]
    values: list = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values


@contextlib.contextmanager
def local_main_first(ranks: Ranks) -> Iterator[None]:
    """Rank 0 of each machine goes first (downloads and caches the data once), the others then read its cache."""
    if ranks.distributed and ranks.local_rank != 0:
        dist.barrier()
    yield
    if ranks.distributed and ranks.local_rank == 0:
        dist.barrier()


def parameter_sha256(model: nn.Module) -> str:
    """A digest of the trainable weights: equal on every rank while data parallelism keeps them in step."""
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def wrap(model: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """The module that trains: ``model`` itself, or DistributedDataParallel around it (which averages the
    gradients over the ranks in backward and starts every rank from rank 0's weights)."""
    if not ranks.distributed:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def batch_per_rank(batch_size: int, ranks: Ranks) -> int:
    """Each rank's slice of the global batch: the run's batch stays ``batch_size`` on any number of ranks."""
    if batch_size % ranks.world_size:
        raise ValueError(f"--batch-size {batch_size} is the global batch, split evenly over the "
                         f"{ranks.world_size} ranks: give a multiple of {ranks.world_size}")
    return batch_size // ranks.world_size


def default_processes() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else (os.cpu_count() or 1)


def launch(argv: list[str], nproc_per_node: int | None, nnodes: str, rdzv_endpoint: str, rdzv_id: str) -> int:
    """Run ``digitscope train ARGV`` under torchrun's elastic launcher, in this process. One machine
    rendezvous on a free local port; several meet at ``rdzv_endpoint`` (the same command on each)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    n = nproc_per_node or default_processes()
    if n < 1:
        raise ValueError(f"--nproc-per-node must be at least 1, not {n}")
    options = [f"--nproc-per-node={n}", f"--nnodes={nnodes}"]
    if rdzv_endpoint:
        options += ["--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}", f"--rdzv-id={rdzv_id}"]
    elif nnodes not in ("1", "1:1"):
        raise ValueError(f"--nnodes {nnodes} needs --rdzv-endpoint HOST:PORT, where the machines meet")
    else:
        options.append("--standalone")
    if not torch.cuda.is_available() and "OMP_NUM_THREADS" not in os.environ:
        # torchrun would give each process one thread; share the cores out instead
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
    try:
        run(get_args_parser().parse_args([*options, "-m", "digitscope", "train", *argv]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        print(f"error: distributed training failed: rank {rank} exited with code {failure.exitcode} "
              "(its message is above)", file=sys.stderr)
        return 1
    return 0

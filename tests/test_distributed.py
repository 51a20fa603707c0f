"""Data-parallel training: two gloo processes stay in step, only rank 0 writes, and the run resumes on one."""

import dataclasses
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from digitscope import data
from digitscope.models import create_model
from digitscope.store.checkpoint import load_checkpoint
from digitscope.training import distributed
from digitscope.training.config import TrainConfig
from digitscope.training.distributed import Ranks, batch_per_rank, parameter_sha256
from digitscope.training.loop import train

TINY = dict(data="tiny", arch="quicknet", epochs=3, batch_size=32, lr=2e-2, precision="fp32", ema_decay=0.9,
            arch_kwargs={"width": 8}, rotate=0.0, scale=0.0, shift=0.0, shear=0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cached_only() -> dict:
    raise AssertionError("the test caches the tiny dataset before the ranks start")


class Interrupted(Exception):
    pass


def rank_main(rank: int, world_size: int, port: int, dataset: data.DatasetInfo, out: str, stop_after: int) -> None:
    """One rank, started the way torchrun starts it (its place in the run in the environment), interrupted after
    ``stop_after`` epochs; it reports the digest of the weights it trained into a file of its own beside the run."""
    data.register(dataset)  # a spawned process starts with only the built-in datasets registered
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trained = []
    wrap = distributed.wrap
    distributed.wrap = lambda model, ranks, device: trained.append(model) or wrap(model, ranks, device)

    def report_and_stop(epoch: int, record: dict) -> None:
        with open(f"{out}.rank{rank}.json", "w") as f:
            json.dump({"epoch": epoch, "record": record, "sha256": parameter_sha256(trained[0])}, f)
        if epoch == stop_after:
            raise Interrupted

    try:
        train(TrainConfig(**TINY), out, progress=False, on_epoch_end=report_and_stop)
    except Interrupted:  # both ranks stop after the same epoch
        distributed.leave(in_step=True)


def test_two_ranks_stay_in_step_only_rank_0_writes_and_one_rank_resumes(tiny_dataset, tmp_path):
    for split in tiny_dataset.splits:
        data.load(f"tiny:{split}")
    dataset = dataclasses.replace(tiny_dataset, fetch=cached_only)
    out = tmp_path / "ddp"
    mp.spawn(rank_main, args=(2, free_port(), dataset, str(out), 2), nprocs=2)
    reports = [json.loads((tmp_path / f"ddp.rank{r}.json").read_text()) for r in (0, 1)]

    assert reports[0]["epoch"] == reports[1]["epoch"] == 2
    assert reports[0]["sha256"] == reports[1]["sha256"]  # the weights of both ranks, identical bit for bit
    assert reports[0]["record"] == reports[1]["record"]  # the same reduced metrics on every rank
    assert reports[0]["record"]["val_accuracy"] > 0.8
    # rank 0 alone wrote the run: three files, no second writer's temp files
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "model.json", "model.safetensors"]
    saved = json.loads((out / "model.json").read_text())
    assert saved["distributed"] == {"world_size": 2, "backend": "gloo", "batch_per_rank": 16}
    state = load_checkpoint(out / "checkpoint.safetensors")
    model = create_model("quicknet", num_classes=10, width=8)
    model.load_state_dict(state["model"])  # the unwrapped module: no DDP prefix in its names
    assert state["epoch"] == 2 and parameter_sha256(model) == reports[0]["sha256"]

    card = train(TrainConfig(**TINY), out, resume=True, progress=False)  # the third epoch, on one process
    assert [h["epoch"] for h in card["history"]] == [1, 2, 3]
    assert card["history"][1] == reports[0]["record"]
    assert "distributed" not in card
    assert card["metrics"]["selected"]["val_accuracy"] > 0.9


def test_the_global_batch_must_split_evenly_over_the_ranks():
    assert batch_per_rank(128, Ranks(0, 4, 0)) == 32
    with pytest.raises(ValueError, match="multiple of 3"):
        batch_per_rank(128, Ranks(0, 3, 0))

"""A training run in progress (``Run``), and the set-up that builds it: data on the device, the model (warm-started
and partly frozen where asked), its weight average, optimizer and schedule, the card every save carries, and the
state of an interrupted run when resuming."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ..models import count_parameters, create_model
from ..runtime import default_device, resolve_precision, use_channels_last
from ..store.saved import code_version
from . import distributed
from .config import TrainConfig
from .optim import ema_with_warmup, make_optimizer
from .resume import read_resume_state
from .splits import TrainingData, training_data
from .tasks import Task, task_for
from .warm_start import freeze_layers, load_fitting_weights


@dataclass
class Run:
    """A run in progress: what the set-up built, and the history the epochs add to."""

    cfg: TrainConfig
    out: Path
    ranks: distributed.Ranks
    device: torch.device
    precision: str  # bf16 | fp32
    data: TrainingData  # on ``device``, but for the sampling weights (the epoch's order is drawn on the CPU)
    task: Task
    model: nn.Module  # what is saved and averaged
    net: nn.Module  # what trains: ``model``, or DistributedDataParallel around it
    ema: AveragedModel | None
    frozen: nn.Module | None  # --freeze: layers kept in eval mode
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    card: dict  # what every saved card says
    local_batch: int  # this rank's share of the batch
    start_epoch: int = 0
    history: list | None = None
    best: dict | None = None  # the best val accuracy so far and its epoch
    selected: dict | None = None  # the epoch saved as the model

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model


def set_up(cfg: TrainConfig, out: Path, resume: bool, command: str) -> Run:
    ranks, device = distributed.join(default_device())
    if ranks.is_main:
        out.mkdir(parents=True, exist_ok=True)
    local_batch = distributed.batch_per_rank(cfg.batch_size, ranks)
    precision = resolve_precision(cfg.precision, device)
    with distributed.local_main_first(ranks):  # one process per machine downloads and caches
        data = training_data(cfg)
    data.x_train, data.y_train = data.x_train.to(device), data.y_train.to(device)
    if data.is_hard is not None:
        data.is_hard = data.is_hard.to(device)
    if data.is_zero is not None:
        data.is_zero = data.is_zero.to(device)
    task = task_for(cfg, data.y_train, data.y_val)

    torch.manual_seed(cfg.seed)
    model = create_model(cfg.arch, num_classes=task.num_classes, **cfg.arch_kwargs).to(device)
    if cfg.init:
        load_fitting_weights(model, cfg.init)
    frozen = freeze_layers(model, cfg.freeze, cfg.init)
    if use_channels_last(precision, device):
        model = model.to(memory_format=torch.channels_last)
    if ranks.distributed and device.type == "cuda":
        # BatchNorm statistics over the global batch, as in one process. SyncBatchNorm runs on GPUs only: on CPU
        # each rank normalises with its own slice's statistics, and DDP gives every rank rank 0's running ones.
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(cfg.ema_decay), use_buffers=True) \
        if cfg.ema_decay > 0 else None
    if len(data.x_train) < cfg.batch_size:
        raise ValueError(f"batch size {cfg.batch_size} is larger than the {len(data.x_train)} training images")
    opt, sched = make_optimizer(cfg, model, len(data.x_train) // cfg.batch_size * cfg.epochs)
    card = {
        "arch": cfg.arch, "arch_kwargs": {"num_classes": task.num_classes, **cfg.arch_kwargs},
        "config": asdict(cfg), "seed": cfg.seed, "code_version": code_version(), "command": command,
        "parameters": count_parameters(model), "data": data.card, "device": device.type, "precision": precision,
        **({"distractors": data.distractors} if data.distractors else {}),
    }
    if ranks.distributed:
        card["distributed"] = {"world_size": ranks.world_size, "backend": distributed.backend_for(device),
                               "batch_per_rank": local_batch}
    run = Run(cfg, out, ranks, device, precision, data, task, model, None, ema, frozen, opt, sched, card, local_batch,
              history=[], best={"val_accuracy": -1.0, "epoch": -1}, selected={})
    if distributed.share_from_main(ranks, resume):  # decided where the checkpoint is: on rank 0's disk
        # rank 0 reads it and sends it round: the other machines need no shared disk
        state = distributed.from_main(ranks, lambda: read_resume_state(out / "checkpoint.safetensors", cfg))
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        run.start_epoch, run.history, run.best, run.selected = \
            state["epoch"], state["history"], state["best"], state["selected"]
    run.net = distributed.wrap(model, ranks, device)
    return run

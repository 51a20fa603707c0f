"""The optimizer, its learning-rate schedule and the average of the weights that is validated and saved."""

from __future__ import annotations

import torch
from torch import nn

from .config import TrainConfig


def make_optimizer(cfg: TrainConfig, model: nn.Module, steps: int):
    """(optimizer, schedule) over the trainable parameters; the schedule steps once per batch, ``steps`` in all."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = {
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "sgd": lambda: torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay),
        "adadelta": lambda: torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
    }[cfg.optimizer]()  # the config refused any other name when it was made
    sched = {
        "onecycle": lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps,
                                                                pct_start=cfg.warmup),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps),
        "constant": lambda: torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0),
    }[cfg.schedule]()
    return opt, sched


def ema_with_warmup(decay: float):
    """EMA update whose decay ramps up as (1 + n) / (10 + n): a plain 0.999 EMA still carries a third of
    the random initial weights after 1,000 steps, which breaks BatchNorm nets early in training."""

    def update(ema_params: list[torch.Tensor], params: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = int(num_averaged)
        d = min(decay, (1 + n) / (10 + n))
        if ema_params[0].is_floating_point():
            torch._foreach_lerp_(ema_params, params, 1 - d)
        else:  # integer buffers (BatchNorm's batch counter): keep the model's
            torch._foreach_copy_(ema_params, params)

    return update

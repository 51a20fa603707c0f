"""One training loop for every model: set up, then per epoch ``train_epoch``, ``validate``, ``select_and_save``.

    digitscope train --preset flagship --seed 0 --out runs/flagship-s0
    digitscope train --arch cnn --epochs 3 --out runs/cnn

Whole-dataset uint8 tensors in memory, batches indexed from them and augmented on the fly in one ``grid_sample``
call; AdamW/SGD/Adadelta with a OneCycle or cosine schedule; label smoothing; an EMA of the weights; bf16 autocast
where the hardware supports bf16, channels_last with it and on any CPU. Validation every epoch; the saved model is
chosen on *validation* (never test), see ``is_selected``. A checkpoint after every epoch lets ``--resume`` continue
an interrupted run exactly where it stopped.

Data parallel under torchrun (``torchrun --nproc-per-node 2 -m digitscope train ...`` or ``digitscope train
--distributed``): every rank draws the same permutation of each epoch and trains on its slice of each global
batch of ``batch_size``; gradients and the epoch's metrics are summed over the ranks; rank 0 alone validates and
writes. Each epoch's random draws are seeded from (seed, epoch), so a run resumes on any number of ranks.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from ..data import distractors
from ..data.augment import augment_batch, slash
from ..models.persist import save_model
from ..runtime import autocast, use_channels_last
from ..store.checkpoint import save_checkpoint
from ..store.saved import read_card, write_card
from . import distributed
from .config import TrainConfig
from .resume import changed_options
from .run import Run, set_up
from .sampling import epoch_order, epoch_seed
from .selection import is_selected


def train_epoch(run: Run, epoch: int, report: Callable[..., None]) -> dict:
    """One pass over this rank's slices of the epoch's batches; the epoch's loss and accuracy over all ranks.
    ``report(completed=steps, stats=text)`` shows the progress."""
    cfg, d, ranks = run.cfg, run.data, run.ranks
    run.net.train()
    if run.frozen is not None:  # their BatchNorm statistics stay the init model's, their dropout off
        run.frozen.eval()
    t0 = time.perf_counter()
    steps = len(d.x_train) // cfg.batch_size
    perm = epoch_order(cfg.seed, epoch, len(d.x_train), d.sample_weights).to(run.device)
    torch.manual_seed(epoch_seed(cfg.seed, epoch, 1 + ranks.rank))
    loss_sum, correct = torch.zeros((), device=run.device), torch.zeros((), device=run.device)
    for step in range(steps):
        first = step * cfg.batch_size + ranks.rank * run.local_batch  # this rank's slice of the global batch
        idx = perm[first:first + run.local_batch]
        x = d.x_train[idx].float().div_(255)  # (B / world_size, 1, H, W)
        if d.is_zero is not None:  # before the warp, which then slants and sizes the slash with the zero
            x = slash(x, d.is_zero[idx] & (torch.rand(len(idx), device=x.device) < cfg.slashed_zeros))
        if d.is_hard is None:
            x = augment_batch(x, cfg.augment)
        else:
            hard = d.is_hard[idx]
            x[~hard] = augment_batch(x[~hard], cfg.augment)
            x[hard] = augment_batch(x[hard], cfg.hard_augment_config)
        y = d.y_train[idx]  # (B / world_size,) or (B / world_size, T)
        if use_channels_last(run.precision, run.device):
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(run.precision, run.device):
            logits = run.net(x).float()
        loss = run.task.loss(logits, y)
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        run.sched.step()
        if run.ema is not None:
            run.ema.update_parameters(run.model)
        loss_sum += loss.detach()
        correct += run.task.correct(logits, y).sum()
        if step % 20 == 19 or step == steps - 1:
            seen = (step + 1) * run.local_batch  # rank 0's share; its throughput times the ranks
            speed = seen * ranks.world_size / (time.perf_counter() - t0)
            report(completed=step + 1, stats=f"loss {loss_sum.item() / (step + 1):.4f}  "
                                             f"acc {correct.item() / seen:.4f}  {speed:,.0f} img/s")
    seconds = round(time.perf_counter() - t0, 2)
    loss_sum, correct = distributed.sum_over_ranks(ranks, torch.stack([loss_sum, correct])).tolist()
    return {"epoch": epoch + 1, "train_loss": loss_sum / (steps * ranks.world_size),
            "train_accuracy": correct / (steps * cfg.batch_size), "seconds": seconds}


def validate(run: Run, record: dict) -> None:
    """Add the validation loss and accuracy of the averaged weights to the epoch's ``record`` (rank 0 only)."""
    x_val, y_val = run.data.x_val, run.data.y_val
    if x_val is None:  # a final fit
        return
    logits = evaluate_logits(run.eval_model, x_val, run.precision, run.device)  # (N, K)
    record["val_loss"] = run.task.val_loss(logits, y_val).item()
    record["val_accuracy"] = run.task.correct(logits, y_val).float().mean().item()
    if run.data.distractors:  # the digits alone, comparable with a 10-class model's val accuracy
        is_digit = y_val != distractors.NOT_A_DIGIT
        record["val_digit_accuracy"] = (logits[is_digit].argmax(1) == y_val[is_digit]).float().mean().item()


def select_and_save(run: Run, record: dict) -> None:
    """Save the model if this epoch is selected, then the checkpoint (rank 0 only)."""
    epoch = record["epoch"]
    run.history.append(record)
    if run.data.x_val is None:  # a final fit (splits.check_final_fit): its last epoch is the model
        run.selected = {"epoch": epoch}
    else:
        if record["val_accuracy"] > run.best["val_accuracy"]:
            run.best = {"val_accuracy": record["val_accuracy"], "epoch": epoch}
        if is_selected(record["val_accuracy"], run.best["val_accuracy"], len(run.data.y_val), run.cfg.selection):
            run.selected = {"val_accuracy": record["val_accuracy"], "val_loss": record["val_loss"], "epoch": epoch}
    if run.selected.get("epoch") == epoch:
        save_model(run.out / "model", run.eval_model, {**run.card, "metrics": {"selected": run.selected},
                                                       "history": run.history})
    save_checkpoint(run.out / "checkpoint.safetensors", {
        "config": asdict(run.cfg), "epoch": epoch, "history": run.history, "best": run.best,
        "selected": run.selected, "model": run.model.state_dict(),
        "ema": run.ema.state_dict() if run.ema is not None else {},
        "optimizer": run.opt.state_dict(), "scheduler": run.sched.state_dict(),
    })


def train(cfg: TrainConfig, out: Path, resume: bool = False, progress: bool = True,
          on_epoch_end: Callable[[int, dict], None] | None = None, command: str = "") -> dict:
    """Train, select on validation, save ``out/model.{safetensors,json}``; return the card (on every rank)."""
    run = set_up(cfg, Path(out), resume, command)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[stats]}"),
                   TimeElapsedColumn(), disable=not (progress and run.ranks.is_main))
    with bar:
        for epoch in range(run.start_epoch, cfg.epochs):
            line = bar.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=len(run.data.x_train) // cfg.batch_size,
                                stats="")
            t0 = time.perf_counter()
            record = train_epoch(run, epoch, functools.partial(bar.update, line))
            if run.ranks.is_main:  # rank 0 validates and writes while the others wait; all then go on with its history
                validate(run, record)
                record["wall_seconds"] = round(time.perf_counter() - t0, 2)  # validation included
                val = f"val acc {record['val_accuracy']:.4f}  val loss {record['val_loss']:.4f}  " \
                    if "val_accuracy" in record else ""
                bar.update(line, stats=f"{val}{record['seconds']:.0f}s")
                if not progress:
                    print(json.dumps(record), file=sys.stderr, flush=True)
                select_and_save(run, record)
            run.history, run.best, run.selected = distributed.share_from_main(
                run.ranks, (run.history, run.best, run.selected))
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, run.history[-1])
            if cfg.patience and epoch + 1 - run.best["epoch"] >= cfg.patience:
                break
    return finish(run)


def finish(run: Run) -> dict:
    """The run's card, on every rank; rank 0 writes it beside the selected weights, with the whole history."""
    if run.ranks.distributed:  # data parallelism must have kept every rank's weights identical
        digests = distributed.gather(run.ranks, distributed.parameter_sha256(run.model))
        if len(set(digests)) > 1:
            raise RuntimeError(f"the ranks' weights drifted apart (SHA-256 per rank: {digests})")
        run.card["distributed"]["parameter_sha256"] = digests[0]
    # Summed per epoch so that a resumed run counts only the time spent training, not the pause.
    metrics = {"selected": run.selected, **({"best_val": run.best} if run.data.x_val is not None else {}),
               "train_seconds": round(sum(h["seconds"] for h in run.history), 1),
               "wall_seconds": round(sum(h["wall_seconds"] for h in run.history), 1)}
    if run.ranks.is_main:
        saved = read_card(run.out / "model")
        write_card(run.out / "model", replace(
            saved, metrics=metrics, history=run.history,
            distributed=run.card["distributed"] if run.ranks.distributed else saved.distributed))
    return {**run.card, "metrics": metrics, "history": run.history}


@torch.no_grad()
def evaluate_logits(model: nn.Module, images: torch.Tensor, precision: str, device: torch.device,
                    batch_size: int = 1000) -> torch.Tensor:
    """Logits (N, K) in float32 for uint8 images (N, 1, H, W)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(device).float().div_(255)
        if use_channels_last(precision, device):
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(precision, device):
            out.append(model(x).float().cpu())
    return torch.cat(out)


def train_or_reuse(cfg: TrainConfig, out: Path, progress: bool = False, command: str = "") -> dict:
    """Train ``cfg`` into ``out`` once: a run finished there is reused, an interrupted one resumed, so that
    a command that trains many runs picks up where it stopped. Returns the run's card."""
    out = Path(out)
    if (out / "model.json").exists():
        card = read_card(out / "model").to_dict()
        if "train_seconds" in card.get("metrics", {}):  # written when a run finishes
            differ = changed_options(card["config"], cfg)
            if differ:
                raise ValueError(f"{out} holds a finished run with other options ({', '.join(differ)}); "
                                 "give another output folder")
            return card
    return train(cfg, out, resume=(out / "checkpoint.safetensors").exists(), progress=progress, command=command)

"""One training loop for every model.

    python -m digitscope.train --preset flagship --seed 0 --out runs/flagship-s0
    digitscope train --arch cnn --epochs 3 --out runs/cnn     (same options)

Whole-dataset uint8 tensors in memory, batches indexed from them and augmented on the fly in one
``grid_sample`` call; AdamW/SGD/Adadelta with a OneCycle or cosine schedule; label smoothing; an EMA of
the weights; bf16 autocast where the hardware supports bf16, channels_last with it and on any CPU. Validation
every epoch; the saved model is chosen on *validation* (never test), see ``is_selected``. A checkpoint after
every epoch lets ``--resume`` continue an interrupted run exactly where it stopped.

Data parallel under torchrun (``torchrun --nproc-per-node 2 -m digitscope.train ...`` or ``digitscope train
--distributed``): every rank draws the same permutation of each epoch and trains on its slice of each global
batch of ``batch_size``; gradients and the epoch's metrics are summed over the ranks; rank 0 alone validates and
writes. Each epoch's random draws are seeded from (seed, epoch), so a run resumes on any number of ranks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn
from torch.optim.swa_utils import AveragedModel

from .. import data as datasets
from ..data import distractors
from ..data.augment import AugmentConfig, augment_batch
from ..io import write_json
from ..models import count_parameters, create_model
from ..models.persist import save_model
from ..runtime import autocast, default_device, resolve_precision, use_channels_last
from ..store.checkpoint import load_checkpoint, save_checkpoint
from ..store.saved import code_version, read_card
from . import distributed
from .losses import make_loss
from .sampling import fold_of, read_hard_examples, sampling_weights

SELECTION_RULES = ("best", "one-se", "last")  # see is_selected
NO_VALIDATION = "none"  # --val-split none: a final fit (check_final_fit)


@dataclass
class TrainConfig:
    arch: str = "digitnet"
    arch_kwargs: dict = field(default_factory=dict)
    data: str = "mnist"
    train_split: str = "train"
    val_split: str = "val"  # "none": no validation (a final fit, with --selection last)
    val_holdout: int = 0  # > 0: validate on the last N images of the training split instead (data with no val split)
    classes: str = ""  # train on these classes only, relabelled 0..K-1 in the order given ('4,9': a 4-vs-9 specialist)
    init: str = ""  # start from this saved model's weights where they fit (a specialist from its generalist)
    freeze: int = 0  # with --init: keep its first N layers as they are (a detector sharing them with its reader)
    epochs: int = 15
    batch_size: int = 128
    optimizer: str = "adamw"  # adamw | sgd | adadelta
    lr: float = 3e-3  # peak learning rate
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # onecycle | cosine | constant
    warmup: float = 0.2  # fraction of steps spent warming up (onecycle)
    loss: str = "ce"  # ce | numerical | cost
    alpha: float = 0.05  # numerical loss: weight of the value term (seed 004)
    beta: float = 0.9  # numerical loss: share of cross-entropy
    values: str = ""  # numerical loss: the value of each class, comma-separated ('' = 0..K-1)
    cost: str = ""  # cost matrix for --loss cost and --decision min-cost: numeric | 'I->J=c,...' | a file
    cost_weight: float = 1.0  # --loss cost: weight of the expected-cost term
    decision: str = "argmax"  # argmax | min-cost (the Bayes decision under --cost), saved for prediction
    label_smoothing: float = 0.1
    ema_decay: float = 0.999  # 0 turns the weight average off
    rotate: float = 10.0
    scale: float = 0.1
    shift: float = 0.1
    shear: float = 5.0
    elastic: float = 0.0
    thickness: float = 0.0  # random stroke width, up to this amount thicker or thinner (augment.stroke_width)
    precision: str = "auto"  # auto | bf16 | fp32
    seed: int = 0
    selection: str = "one-se"  # best | one-se: the latest epoch within one standard error of the best val accuracy
    # | last: the final epoch, validation unread (a final fit on train-full, once validation has chosen the epochs)
    patience: int = 0  # stop after this many epochs without a better validation accuracy; 0 = never
    limit_train: int = 0  # train on the first N images only (0 = all): smoke tests, quick looks
    folds: int = 0  # > 0: split the training images into this many folds and leave one out ...
    holdout_fold: int = 0  # ... this one (out-of-fold scores for hard-example mining)
    hard_examples: str = ""  # a file from `digitscope hard-examples`: oversample the hardest digits
    hard_fraction: float = 0.05  # the share of training digits counted as hard
    hard_weight: float = 3.0  # how many times as often a hard digit is drawn
    hard_augment: float = 1.5  # their augmentation amplitudes, as a multiple of the others'
    distractors: float = 0.0  # > 0: this share of the images are generated non-digits, class 10 'not a digit'
    distill: str = ""  # saved models (comma-separated) whose mean probabilities are also learnt, where they are right
    distill_weight: float = 0.5  # the share of the loss that imitates them

    def __post_init__(self):  # a misspelt rule fails here, not after the first epoch
        if self.selection not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {self.selection!r}; choose {', '.join(SELECTION_RULES)}")
        if not 0 <= self.distill_weight <= 1:
            raise ValueError(f"--distill-weight must be between 0 and 1, not {self.distill_weight}")

    @property
    def augment(self) -> AugmentConfig:
        return AugmentConfig(self.rotate, self.scale, self.shift, self.shear, self.elastic, self.thickness)

    @property
    def hard_augment_config(self) -> AugmentConfig:
        return AugmentConfig(*(self.hard_augment * v for v in dataclasses.astuple(self.augment)))


# Named recipes; any field can still be overridden. The figures they reach are in benchmarks/RESULTS.md.
FLAGSHIP = dict(arch="digitnet", epochs=20, batch_size=128, lr=3e-3)
PRESETS: dict[str, dict] = {
    "flagship": FLAGSHIP,
    # The flagship's final fit: the same recipe on all 60,000 training images, its last epoch kept, since validation
    # chose the last epoch (20 of 20) in every flagship run (benchmarks/RESULTS.md).
    "flagship-full": {**FLAGSHIP, "train_split": "train-full", "val_split": NO_VALIDATION, "selection": "last"},
    "fast": dict(arch="quicknet", epochs=1, batch_size=64, lr=1e-2, rotate=8.0, scale=0.08, shift=0.08,
                 shear=0.0, ema_decay=0.99, label_smoothing=0.0),  # 1 epoch for 99.0%, --epochs 7 or 8 for 99.5%
    "sequence": dict(arch="seqnet", data="mnist-sequences", epochs=12, batch_size=128, lr=3e-3, label_smoothing=0.0,
                     rotate=0.0, scale=0.0, shift=0.0, shear=0.0),  # --data house-scenes for the colour scenes
    "paper": dict(optimizer="adamw", lr=1e-3, schedule="constant", epochs=10, label_smoothing=0.0,
                  ema_decay=0.0, rotate=0.0, scale=0.0, shift=0.0, shear=0.0, weight_decay=0.0),
}


# ---------------------------------------------------------------- config from the command line

def build_parser() -> argparse.ArgumentParser:
    """Every TrainConfig field becomes ``--field-name``; ``--preset`` fills several at once."""
    p = argparse.ArgumentParser(prog="digitscope train", description="Train a digit classifier.")
    p.add_argument("--out", required=True, help="output folder (model, card, checkpoint)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe; explicit options win")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs one line per epoch)")
    p.add_argument("--ensemble", type=int, default=0, help="train N members (seeds SEED..SEED+N-1) into "
                   "OUT/member<K> and bundle them as OUT/model")
    p.add_argument("--member", type=int, default=None, help="with --ensemble: train member K only (a job array "
                   "trains the members apart; `digitscope ensemble combine` bundles them)")
    p.add_argument("--distributed", action="store_true", help="data parallel: launch torchrun with the options below "
                   "(a process started by torchrun is data parallel without it)")
    p.add_argument("--nproc-per-node", type=int, default=None, help="with --distributed: processes on this machine "
                   "(default: one per GPU, or one per core)")
    p.add_argument("--nnodes", default="1", help="with --distributed: machines taking part (the same command on each)")
    p.add_argument("--rdzv-endpoint", default="", help="with --distributed on several machines: HOST:PORT where "
                   "they meet (a port open on HOST, the machine of rank 0)")
    p.add_argument("--rdzv-id", default="digitscope", help="with --distributed on several machines: the run's name, "
                   "the same on each")
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "arch_kwargs":
            p.add_argument(flag, type=json.loads, default=None, help='JSON, e.g. \'{"width": 48}\'')
        else:
            p.add_argument(flag, type=type(f.default), default=None, help=f"default {f.default}")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = dict(PRESETS[args.preset]) if args.preset else {}
    for f in dataclasses.fields(TrainConfig):
        if getattr(args, f.name) is not None:
            values[f.name] = getattr(args, f.name)
    return TrainConfig(**values)


# ---------------------------------------------------------------- the loop

def _as_tensors(arrays: datasets.Arrays, limit: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    n = limit or len(arrays)
    return torch.from_numpy(arrays.images[:n]).unsqueeze(1), torch.from_numpy(arrays.labels[:n])  # (N,1,28,28)


def training_splits(cfg: TrainConfig) -> tuple[datasets.Arrays, datasets.Arrays]:
    """The config's training and validation images: validation held out of the training split when
    ``val_holdout`` says so, both restricted to ``classes`` (relabelled in the order given) when it names any."""
    train_arrays = datasets.load(f"{cfg.data}:{cfg.train_split}")
    if train_arrays.labels.ndim == 2:
        check_sequence_options(cfg)
    if cfg.val_holdout:
        if not 0 < cfg.val_holdout < len(train_arrays):
            raise ValueError(f"--val-holdout must be between 1 and {len(train_arrays) - 1} (the training split "
                             f"has {len(train_arrays)} images), not {cfg.val_holdout}")
        cut = len(train_arrays) - cfg.val_holdout
        val_arrays = datasets.Arrays(train_arrays.images[cut:], train_arrays.labels[cut:])
        train_arrays = datasets.Arrays(train_arrays.images[:cut], train_arrays.labels[:cut])
    elif cfg.val_split == NO_VALIDATION:
        check_final_fit(cfg)
        val_arrays = None
    else:
        val_arrays = datasets.load(f"{cfg.data}:{cfg.val_split}")
    if cfg.classes:
        classes = parse_classes(cfg.classes, int(train_arrays.labels.max()) + 1)
        train_arrays = select_classes(train_arrays, classes)
        val_arrays = None if val_arrays is None else select_classes(val_arrays, classes)
    return train_arrays, val_arrays


def check_final_fit(cfg: TrainConfig) -> None:
    """A run without validation (``--val-split none``) is a final fit: every choice, its number of epochs included,
    was made on validation by runs of the same recipe before, so nothing is left to select but its last epoch."""
    if cfg.selection != "last":
        raise ValueError("--val-split none leaves nothing to select an epoch on; add --selection last (the epochs "
                         "chosen on validation by runs of the same recipe)")
    unsupported = [flag for flag, on in (("--patience", cfg.patience), ("--distractors", cfg.distractors)) if on]
    if unsupported:
        raise ValueError(f"--val-split none does not mix with {', '.join(unsupported)}: they need validation images")


def validation_spec(cfg: TrainConfig) -> str | None:
    if cfg.val_holdout:
        return f"{cfg.data}:{cfg.train_split} (its last {cfg.val_holdout})"
    return None if cfg.val_split == NO_VALIDATION else f"{cfg.data}:{cfg.val_split}"


def parse_classes(spec: str, num_classes: int) -> list[int]:
    """'4,9' -> [4, 9]: at least two distinct classes the data has."""
    try:
        classes = [int(c) for c in spec.split(",")]
    except ValueError:
        raise ValueError(f"--classes takes class numbers separated by commas (e.g. 4,9), not {spec!r}") from None
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError(f"--classes needs at least two different classes, not {spec!r}")
    unknown = [c for c in classes if not 0 <= c < num_classes]
    if unknown:
        raise ValueError(f"--classes names {unknown}, but the data has classes 0-{num_classes - 1}")
    return classes


def select_classes(arrays: datasets.Arrays, classes: list[int]) -> datasets.Arrays:
    """The images of ``classes`` only, labelled by their position in ``classes``."""
    position = torch.full((max(*classes, int(arrays.labels.max())) + 1,), -1, dtype=torch.int64)
    position[classes] = torch.arange(len(classes))
    labels = position[torch.from_numpy(arrays.labels)].numpy()  # (N,) -1 for the other classes
    keep = labels >= 0
    return datasets.Arrays(arrays.images[keep], labels[keep])


VAL_DISTRACTOR_SEED = 1_000_000  # added to the seed of the validation distractors: never those of training


def append_distractors(cfg: TrainConfig, x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor,
                       y_val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """Append generated non-digits, labelled NOT_A_DIGIT, so that they make up ``cfg.distractors`` of the
    training and of the validation images. Each split's fragments and half-digits are cut from its own digits;
    the validation distractors come from another seed. Returns the four tensors and what the card records."""
    if cfg.classes:
        raise ValueError("--distractors adds class 10, 'not a digit', to the ten digits; it does not mix with "
                         "--classes")
    if int(max(y_train.max(), y_val.max())) > distractors.NOT_A_DIGIT:
        raise ValueError(f"--distractors needs digit labels 0-9 (and 10, 'not a digit', where the data has its own); "
                         f"{cfg.data} has labels up to {int(y_train.max())}")
    out, made_for = [], {}
    splits = (("train", x_train, y_train, cfg.seed), ("val", x_val, y_val, cfg.seed + VAL_DISTRACTOR_SEED))
    for split, x, y, seed in splits:
        is_digit = y < distractors.NOT_A_DIGIT  # fragments are cut from digits, not from the data's own non-digits
        digits = datasets.Arrays(x[is_digit].squeeze(1).numpy(), y[is_digit].numpy())
        made = distractors.cached(distractors.count_for_share(len(x), cfg.distractors), seed, digits)
        out += [torch.cat([x, torch.from_numpy(made.images).unsqueeze(1)]),  # (N + n, 1, 28, 28)
                torch.cat([y, torch.from_numpy(made.arrays.labels)])]
        made_for[split] = {"n": len(made), "seed": seed, "checksum": made.checksum, "kinds": made.kind_counts()}
    card = {"share": cfg.distractors, "class": distractors.NOT_A_DIGIT,
            "training_fonts": list(distractors.TRAINING_FONTS), "held_out_fonts": list(distractors.HELD_OUT_FONTS),
            "excluded_letters": distractors.EXCLUDED,
            "generator_version": distractors.GENERATOR_VERSION, **made_for}
    return (*out, card)


def load_teachers(spec: str, num_classes: int, device: torch.device) -> list[nn.Module]:
    """The digit networks of the saved models in ``spec`` (comma-separated names or paths), frozen, for --distill."""
    from ..models.gate import digit_reader, digit_reader_card
    from ..models.persist import load_model
    from ..store.bundled import resolve_model_path

    teachers = []
    for source in filter(None, (s.strip() for s in spec.split(","))):
        model, card = load_model(resolve_model_path(source))
        classes = digit_reader_card(card)["arch_kwargs"].get("num_classes", 10)
        if classes != num_classes:
            raise ValueError(f"--distill {source}: its digit network has {classes} classes, this model {num_classes}")
        teachers.append(digit_reader(model, card).to(device).requires_grad_(False))
    return teachers


def distilled_loss(loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, teacher_probs: torch.Tensor,
                   weight: float) -> torch.Tensor:
    """(1 - weight) * loss + weight * cross-entropy to the teachers' probabilities, the latter only over the images
    the teachers read right: their soft answers carry what they know (which digits look alike), their
    mistakes nothing worth learning."""
    right = teacher_probs.argmax(1) == y
    imitation = -(teacher_probs * torch.log_softmax(logits, dim=1)).sum(1)
    return (1 - weight) * loss + weight * (imitation * right).sum() / right.sum().clamp(min=1)


def load_fitting_weights(model: nn.Module, source: str) -> None:
    """Copy the weights of saved model ``source`` (a name or path) into ``model`` wherever name and shape agree;
    the rest keep their fresh initialisation (a final layer for another number of classes). From a gate (the
    bundled default) they come from its digit reader."""
    from safetensors.torch import load_file

    from ..models.gate import digit_reader_weights
    from ..store.bundled import resolve_model_path
    from ..store.saved import weights_path

    path = resolve_model_path(source)
    saved = digit_reader_weights(load_file(str(weights_path(path))), read_card(path))
    own = model.state_dict()
    fitting = {k: v for k, v in saved.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise ValueError(f"--init {source}: none of its weights fit this architecture; "
                         "start from a model of the same one")
    model.load_state_dict(fitting, strict=False)


@dataclass(frozen=True)
class Task:
    """What the loop learns: the classes of the model's output, the training loss, whether an answer is right
    (validation accuracy, and the selection that uses it) and the validation loss."""

    num_classes: int
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (N,) bool
    val_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def task_for(cfg: TrainConfig, y_train: torch.Tensor, y_val: torch.Tensor | None) -> Task:
    """One class per image: a classifier, with the config's loss. A row of targets per image (the sequence
    datasets): the sequence model's length, digits and boxes, read right only when the whole number is."""
    if y_train.ndim == 1:
        num_classes = int(y_train.max() if y_val is None else max(y_train.max(), y_val.max())) + 1
        return Task(num_classes, make_loss(cfg, num_classes), lambda z, y: z.argmax(1) == y, F.cross_entropy)
    from ..reading import sequence_model as sequence

    return Task(sequence.DIGIT_CLASSES, sequence.sequence_loss, sequence.sequence_correct, sequence.sequence_loss)


def check_sequence_options(cfg: TrainConfig) -> None:
    """A sequence dataset has a row of targets per image: the options made for one class per image do not apply."""
    unsupported = [flag for flag, on in (("--loss", cfg.loss != "ce"), ("--distractors", cfg.distractors),
                                         ("--classes", cfg.classes), ("--hard-examples", cfg.hard_examples),
                                         ("--label-smoothing", cfg.label_smoothing),
                                         ("augmentation (--rotate, --scale, --shift, --shear, --elastic, --thickness)",
                                          cfg.augment.enabled)) if on]
    if unsupported:
        raise ValueError(f"{cfg.data} trains the sequence model (a length, five digits and their boxes per image); "
                         f"it takes none of: {', '.join(unsupported)} (augmentation would move the boxes; the "
                         f"sequences are generated afresh instead). Use --preset sequence")


def freeze_layers(model: nn.Module, n: int, init: str) -> nn.Module | None:
    """The first ``n`` layers of ``model``, fixed: no gradient, and (in the loop) BatchNorm statistics that do not
    move. A detector trained this way computes exactly its init model's features up to layer ``n``, so a gate can
    run those layers once for both (``digitscope gate`` sees it in the card and shares them). None when ``n`` is 0."""
    if not n:
        return None
    if not init:
        raise ValueError("--freeze keeps layers of the --init model; name one with --init")
    if not isinstance(model, nn.Sequential) or not 0 < n < len(model):
        layers = len(model) if isinstance(model, nn.Sequential) else 0
        raise ValueError(f"--freeze must be between 1 and {layers - 1} (the layers of this architecture, less its "
                         f"last), not {n}" if layers else "--freeze needs an architecture built as a stack of layers")
    frozen = model[:n]
    frozen.requires_grad_(False)
    return frozen


def make_optimizer(cfg: TrainConfig, model: nn.Module, steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adadelta":
        opt = torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adamw, sgd or adadelta")
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=cfg.warmup)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    elif cfg.schedule == "constant":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}; choose onecycle, cosine or constant")
    return opt, sched


def is_selected(accuracy: float, best_accuracy: float, n_val: int, rule: str) -> bool:
    """Does this (latest) epoch become the saved model?

    'best': only a new best validation accuracy. 'one-se': any epoch within one standard error
    (sqrt(p(1-p)/n)) of the best so far — differences that small are noise on a 5,000-image split,
    and among indistinguishable epochs the latest, most annealed one is preferred (Breiman's rule)."""
    if rule == "last":
        return True
    if rule == "best":
        return accuracy >= best_accuracy
    if rule == "one-se":
        se = (best_accuracy * (1 - best_accuracy) / n_val) ** 0.5
        return accuracy >= best_accuracy - se
    raise ValueError(f"unknown selection rule {rule!r}; choose {', '.join(SELECTION_RULES)}")


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


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """The seed of one epoch's random stream (0: the order of the images, 1 + r: rank r's augmentation and
    dropout), made from (seed, epoch) alone: never from an RNG state carried over, which would depend on how many
    ranks drew from it, so a run resumed on another number of ranks sees the same order of images."""
    return int(np.random.SeedSequence([seed % 2**63, epoch, stream]).generate_state(1)[0])


def epoch_order(cfg: TrainConfig, epoch: int, n: int, sample_weights: torch.Tensor | None) -> torch.Tensor:
    """The epoch's image indices (n,), the same on every rank."""
    generator = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch, 0))
    if sample_weights is None:
        return torch.randperm(n, generator=generator)
    # an epoch of the same length, hard digits drawn more often
    return torch.multinomial(sample_weights, n, replacement=True, generator=generator)


def batch_per_rank(batch_size: int, ranks: distributed.Ranks) -> int:
    if batch_size % ranks.world_size:
        raise ValueError(f"--batch-size {batch_size} is the global batch, split evenly over the "
                         f"{ranks.world_size} ranks: give a multiple of {ranks.world_size}")
    return batch_size // ranks.world_size


def read_resume_state(checkpoint: Path, cfg: TrainConfig) -> dict:
    if not checkpoint.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
    state = load_checkpoint(checkpoint)
    differ = changed_options(state["config"], cfg)
    if differ:
        raise ValueError(f"--resume: options differ from the interrupted run's ({', '.join(differ)}); "
                         "resume with the same ones")
    return state


def train(cfg: TrainConfig, out: Path, resume: bool = False, progress: bool = True,
          on_epoch_end: Callable[[int, dict], None] | None = None, command: str = "") -> dict:
    """Train, select on validation, save ``out/model.{safetensors,json}``; return the card (on every rank)."""
    out = Path(out)
    ranks, device = distributed.join(default_device())
    if ranks.is_main:
        out.mkdir(parents=True, exist_ok=True)
    local_batch = batch_per_rank(cfg.batch_size, ranks)
    precision = resolve_precision(cfg.precision, device)
    info = datasets.get_dataset(cfg.data)
    if not info.trainable:
        raise ValueError(f"{cfg.data} is an evaluation-only dataset and is never trained on")
    with distributed.local_main_first(ranks):
        train_arrays, val_arrays = training_splits(cfg)
    x_train, y_train = _as_tensors(train_arrays, cfg.limit_train)
    x_val, y_val = (None, None) if val_arrays is None else _as_tensors(val_arrays)
    if cfg.folds:
        if not 0 <= cfg.holdout_fold < cfg.folds:
            raise ValueError(f"--holdout-fold must be in 0..{cfg.folds - 1}, not {cfg.holdout_fold}")
        keep = fold_of(len(x_train), cfg.folds) != cfg.holdout_fold
        x_train, y_train = x_train[keep], y_train[keep]
    sample_weights = is_hard = None  # sample_weights stay on the CPU, where the epoch's order is drawn
    if cfg.hard_examples:
        if cfg.folds:
            raise ValueError("--hard-examples and --folds do not mix: hard examples are found with folds, then used")
        true_prob = read_hard_examples(Path(cfg.hard_examples), train_arrays.checksum, len(x_train))
        sample_weights, is_hard = sampling_weights(true_prob, cfg.hard_fraction, cfg.hard_weight)
    distractor_card = {}
    if cfg.distractors:
        with distributed.local_main_first(ranks):
            x_train, y_train, x_val, y_val, distractor_card = append_distractors(cfg, x_train, y_train, x_val, y_val)
        if sample_weights is not None:  # a distractor is drawn as often as an ordinary digit
            extra = len(x_train) - len(sample_weights)
            sample_weights = torch.cat([sample_weights, torch.ones(extra)])
            is_hard = torch.cat([is_hard, torch.zeros(extra, dtype=torch.bool)])
    if is_hard is not None:
        is_hard = is_hard.to(device)
    x_train, y_train = x_train.to(device), y_train.to(device)
    task = task_for(cfg, y_train, y_val)
    num_classes = task.num_classes

    torch.manual_seed(cfg.seed)
    model = create_model(cfg.arch, num_classes=num_classes, **cfg.arch_kwargs).to(device)
    if cfg.init:
        load_fitting_weights(model, cfg.init)
    frozen = freeze_layers(model, cfg.freeze, cfg.init)
    teachers = load_teachers(cfg.distill, num_classes, device) if cfg.distill else []
    channels_last = use_channels_last(precision, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        teachers = [t.to(memory_format=torch.channels_last) for t in teachers]
    if ranks.distributed and device.type == "cuda":
        # BatchNorm statistics over the global batch, as in one process. SyncBatchNorm runs on GPUs only: on CPU
        # each rank normalises with its own slice's statistics, and DDP gives every rank rank 0's running ones.
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(cfg.ema_decay), use_buffers=True) \
        if cfg.ema_decay > 0 else None
    steps_per_epoch = len(x_train) // cfg.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch size {cfg.batch_size} is larger than the {len(x_train)} training images")
    opt, sched = make_optimizer(cfg, model, steps_per_epoch * cfg.epochs)

    checkpoint = out / "checkpoint.safetensors"
    start_epoch, history, best, selected = 0, [], {"val_accuracy": -1.0, "epoch": -1}, {}
    resume = distributed.share_from_main(ranks, resume)  # decided where the checkpoint is: on rank 0's disk
    if resume:  # rank 0 reads it and sends it round: the other machines need no shared disk
        state = distributed.from_main(ranks, lambda: read_resume_state(checkpoint, cfg))
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, history, best, selected = state["epoch"], state["history"], state["best"], state["selected"]
    net = distributed.wrap(model, ranks, device)  # what trains; ``model`` is what is saved and averaged

    card_base = {
        "arch": cfg.arch, "arch_kwargs": {"num_classes": num_classes, **cfg.arch_kwargs},
        "config": asdict(cfg), "seed": cfg.seed, "code_version": code_version(), "command": command,
        "parameters": count_parameters(model),
        "data": {"name": cfg.data, "train": f"{cfg.data}:{cfg.train_split}", "val": validation_spec(cfg),
                 "train_checksum": train_arrays.checksum,
                 "val_checksum": None if val_arrays is None else val_arrays.checksum},
        "device": device.type, "precision": precision, **({"distractors": distractor_card} if distractor_card else {}),
    }
    if ranks.distributed:
        card_base["distributed"] = {"world_size": ranks.world_size, "backend": distributed.backend_for(device),
                                    "batch_per_rank": local_batch}
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[stats]}"),
                   TimeElapsedColumn(), disable=not (progress and ranks.is_main))
    eval_model = ema.module if ema is not None else model
    with bar:
        for epoch in range(start_epoch, cfg.epochs):
            bar_task = bar.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps_per_epoch, stats="")
            net.train()
            if frozen is not None:  # their BatchNorm statistics stay the init model's, their dropout off
                frozen.eval()
            t0 = time.perf_counter()
            perm = epoch_order(cfg, epoch, len(x_train), sample_weights).to(device)
            torch.manual_seed(epoch_seed(cfg.seed, epoch, 1 + ranks.rank))
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device)
            for step in range(steps_per_epoch):
                first = step * cfg.batch_size + ranks.rank * local_batch  # this rank's slice of the global batch
                idx = perm[first:first + local_batch]
                x = x_train[idx].float().div_(255)  # (B / world_size, 1, 28, 28)
                if is_hard is None:
                    x = augment_batch(x, cfg.augment)
                else:
                    hard = is_hard[idx]
                    x[~hard] = augment_batch(x[~hard], cfg.augment)
                    x[hard] = augment_batch(x[hard], cfg.hard_augment_config)
                y = y_train[idx]
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with autocast(precision, device):
                    logits = net(x).float()
                    if teachers:
                        with torch.no_grad():
                            teacher_probs = torch.stack([t(x).float().softmax(1) for t in teachers]).mean(0)
                loss = task.loss(logits, y)
                if teachers:
                    loss = distilled_loss(loss, logits, y, teacher_probs, cfg.distill_weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if ema is not None:
                    ema.update_parameters(model)
                loss_sum += loss.detach()
                correct += task.correct(logits, y).sum()
                if step % 20 == 19 or step == steps_per_epoch - 1:
                    seen = (step + 1) * local_batch  # rank 0's share; its throughput times the ranks
                    bar.update(bar_task, completed=step + 1, stats=(
                        f"loss {loss_sum.item() / (step + 1):.4f}  acc {correct.item() / seen:.4f}  "
                        f"{seen * ranks.world_size / (time.perf_counter() - t0):,.0f} img/s"))
            train_seconds = time.perf_counter() - t0
            loss_sum, correct = distributed.sum_over_ranks(ranks, torch.stack([loss_sum, correct])).tolist()

            if ranks.is_main:  # rank 0 validates and writes while the others wait; all then go on with its history
                record = {
                    "epoch": epoch + 1, "train_loss": loss_sum / (steps_per_epoch * ranks.world_size),
                    "train_accuracy": correct / (steps_per_epoch * cfg.batch_size),
                }
                if x_val is not None:
                    val_logits = evaluate_logits(eval_model, x_val, precision, device)
                    record["val_loss"] = task.val_loss(val_logits, y_val).item()
                    record["val_accuracy"] = task.correct(val_logits, y_val).float().mean().item()
                record["seconds"] = round(train_seconds, 2)
                record["wall_seconds"] = round(time.perf_counter() - t0, 2)  # validation included
                if distractor_card:  # the digits alone, comparable with a 10-class model's val accuracy
                    is_digit = y_val != distractors.NOT_A_DIGIT
                    record["val_digit_accuracy"] = \
                        (val_logits[is_digit].argmax(1) == y_val[is_digit]).float().mean().item()
                history.append(record)
                val_stats = "" if x_val is None else \
                    f"val acc {record['val_accuracy']:.4f}  val loss {record['val_loss']:.4f}  "
                bar.update(bar_task, stats=f"{val_stats}{train_seconds:.0f}s")
                if not progress:
                    print(json.dumps(record), file=sys.stderr, flush=True)
                if x_val is None:  # a final fit (check_final_fit): its last epoch is the model
                    selected = {"epoch": epoch + 1}
                else:
                    if record["val_accuracy"] > best["val_accuracy"]:
                        best = {"val_accuracy": record["val_accuracy"], "epoch": epoch + 1}
                    if is_selected(record["val_accuracy"], best["val_accuracy"], len(y_val), cfg.selection):
                        selected = {"val_accuracy": record["val_accuracy"], "val_loss": record["val_loss"],
                                    "epoch": epoch + 1}
                if selected.get("epoch") == epoch + 1:
                    save_model(out / "model", eval_model, {**card_base, "metrics": {"selected": selected},
                                                           "history": history})
                save_checkpoint(checkpoint, {
                    "config": asdict(cfg), "epoch": epoch + 1, "history": history, "best": best,
                    "selected": selected, "model": model.state_dict(),
                    "ema": ema.state_dict() if ema is not None else {},
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                })
            history, best, selected = distributed.share_from_main(ranks, (history, best, selected))
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, history[-1])
            if cfg.patience and epoch + 1 - best["epoch"] >= cfg.patience:
                break
    if ranks.distributed:  # data parallelism must have kept every rank's weights identical
        digests = distributed.gather(ranks, distributed.parameter_sha256(model))
        if len(set(digests)) > 1:
            raise RuntimeError(f"the ranks' weights drifted apart (SHA-256 per rank: {digests})")
        card_base["distributed"]["parameter_sha256"] = digests[0]
    # Summed per epoch so that a resumed run counts only the time spent training, not the pause.
    card = {**card_base, "metrics": {"selected": selected, **({"best_val": best} if x_val is not None else {}),
                                     "train_seconds": round(sum(h["seconds"] for h in history), 1),
                                     "wall_seconds": round(sum(h["wall_seconds"] for h in history), 1)},
            "history": history}
    if ranks.is_main:  # the selected model's weights were saved at its epoch; its card now gets the whole history
        write_json(out / "model.json", {**read_card(out / "model").to_dict(), "metrics": card["metrics"],
                                        "history": history,
                                        **({"distributed": card["distributed"]} if ranks.distributed else {})})
    return card


def changed_options(saved_config: dict, cfg: TrainConfig) -> list[str]:
    """The options in which ``cfg`` differs from a run's saved config. Options added to digitscope since that
    run was saved take their defaults."""
    saved = {**asdict(TrainConfig()), **saved_config}
    return sorted(k for k, v in asdict(cfg).items() if saved.get(k) != v)


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
        if args.distributed and not distributed.under_torchrun():  # each process torchrun starts runs this argv
            return distributed.launch(argv, args.nproc_per_node, args.nnodes, args.rdzv_endpoint, args.rdzv_id)
        if args.ensemble:
            return train_ensemble(cfg, args, argv)
        train(cfg, Path(args.out), resume=args.resume, progress=not args.no_progress and sys.stderr.isatty(),
              command="digitscope train " + " ".join(argv))
        distributed.leave(in_step=True)
    except (ValueError, FileNotFoundError) as e:  # wrong options or data: the message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        distributed.leave()
    return 0


def train_ensemble(cfg: TrainConfig, args: argparse.Namespace, argv: list[str]) -> int:
    """Member K is the same recipe with seed + K, trained into OUT/member<K>; then all are bundled into
    OUT/model. With 4 or more cores, members run as separate processes, one per pair of cores (each with its
    share of the threads); with fewer, or under torchrun (each member then data parallel), one after another in
    this process."""
    from ..uncertainty.deep_ensemble import combine_members

    n, out = args.ensemble, Path(args.out)
    if n < 2:
        raise ValueError(f"--ensemble needs at least 2 members, not {n}")
    members = list(range(n)) if args.member is None else [args.member]
    if any(not 0 <= k < n for k in members):
        raise ValueError(f"--member must be in 0..{n - 1}, not {args.member}")
    command = "digitscope train " + " ".join(argv)
    cores = os.cpu_count() or 1
    parallel = 1 if distributed.under_torchrun() else max(1, min(len(members), cores // 2))
    if parallel == 1:  # one at a time, in this process
        for k in members:
            run = out / f"member{k}"
            train(dataclasses.replace(cfg, seed=cfg.seed + k), run, resume=(run / "checkpoint.safetensors").exists(),
                  progress=not args.no_progress and sys.stderr.isatty(),
                  command=command if args.member is not None else f"{command} --member {k}")
    else:
        _train_members_in_parallel([a for a in argv if a != "--resume"], members, parallel, cores // parallel)
    if args.member is not None or not distributed.is_main_process():
        return 0
    combine_members([out / f"member{k}" for k in range(n)], out / "model", command=command)
    return 0


def _train_members_in_parallel(argv: list[str], members: list[int], parallel: int, threads: int) -> None:
    pending = [[sys.executable, "-m", "digitscope.training.loop", *argv, "--member", str(k)] for k in members]
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


if __name__ == "__main__":
    raise SystemExit(main())

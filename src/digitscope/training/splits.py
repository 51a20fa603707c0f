"""The images a run trains and validates on: the splits, the classes kept, the folds left out, the hard examples
drawn more often and the generated non-digits appended; and the checks that refuse options the data cannot take."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import data as datasets
from ..data import distractors
from .config import NO_VALIDATION, TrainConfig
from .sampling import fold_of, read_hard_examples, sampling_weights

VAL_DISTRACTOR_SEED = 1_000_000  # added to the seed of the validation distractors: never those of training


@dataclass
class TrainingData:
    x_train: torch.Tensor  # (N, 1, H, W) uint8
    y_train: torch.Tensor  # (N,) class, or (N, T) the sequence model's targets
    x_val: torch.Tensor | None  # None in a final fit
    y_val: torch.Tensor | None
    card: dict  # what the model's card records of the data
    sample_weights: torch.Tensor | None = None  # (N,) with --hard-examples: how often each image is drawn
    is_hard: torch.Tensor | None = None  # (N,) bool: those augmented more strongly
    distractors: dict = field(default_factory=dict)  # what the card records of the non-digits appended
    is_zero: torch.Tensor | None = None  # (N,) bool with --slashed-zeros: the training 0s, some drawn slashed


def training_data(cfg: TrainConfig) -> TrainingData:
    """Everything ``cfg`` trains and validates on, as tensors on the CPU."""
    info = datasets.get_dataset(cfg.data)
    if not info.trainable:
        raise ValueError(f"{cfg.data} is an evaluation-only dataset and is never trained on")
    if cfg.train_split in info.choose_only:
        raise ValueError(f"{cfg.data}:{cfg.train_split} is for choosing and tuning only and is never trained on; "
                         f"validate on it instead (--val-split {cfg.train_split})")
    for spec in info.parts.get(cfg.train_split, ()):  # data made of parts: none of them may be a choosing split
        part, split = datasets.parse_spec(spec)
        if split in part.choose_only:
            raise ValueError(f"{cfg.data}:{cfg.train_split} holds {spec}, which is for choosing and tuning only and "
                             "is never trained on")
    train_arrays, val_arrays = training_splits(cfg)
    x_train, y_train = as_tensors(train_arrays, cfg.limit_train)
    x_val, y_val = (None, None) if val_arrays is None else as_tensors(val_arrays)
    card = {"name": cfg.data, "train": f"{cfg.data}:{cfg.train_split}", "val": validation_spec(cfg),
            "train_checksum": train_arrays.checksum,
            "val_checksum": None if val_arrays is None else val_arrays.checksum, "terms": info.terms}
    if cfg.folds:
        keep = fold_of(len(x_train), cfg.folds) != cfg.holdout_fold
        x_train, y_train = x_train[keep], y_train[keep]
    d = TrainingData(x_train, y_train, x_val, y_val, card)
    if cfg.hard_examples:
        if cfg.folds:
            raise ValueError("--hard-examples and --folds do not mix: hard examples are found with folds, then used")
        true_prob = read_hard_examples(Path(cfg.hard_examples), train_arrays.checksum, len(x_train))
        d.sample_weights, d.is_hard = sampling_weights(true_prob, cfg.hard_fraction, cfg.hard_weight)
    if cfg.part_weights:
        weights = part_weights(info, cfg)
        d.sample_weights = weights if d.sample_weights is None else d.sample_weights * weights
        card["part_weights"] = cfg.part_weights
    if cfg.distractors:
        d.x_train, d.y_train, d.x_val, d.y_val, d.distractors = append_distractors(cfg, x_train, y_train, x_val, y_val)
        if d.sample_weights is not None:  # a distractor is drawn as often as an ordinary digit
            extra = len(d.x_train) - len(d.sample_weights)
            d.sample_weights = torch.cat([d.sample_weights, torch.ones(extra)])
            if d.is_hard is not None:
                d.is_hard = torch.cat([d.is_hard, torch.zeros(extra, dtype=torch.bool)])
    if cfg.slashed_zeros:
        d.is_zero = d.y_train == zero_class(cfg)
    return d


def zero_class(cfg: TrainConfig) -> int:
    """The class of the digit 0: 0, or its place in ``--classes`` (which ``training_splits`` has checked)."""
    if not cfg.classes:
        return 0
    classes = [int(c) for c in cfg.classes.split(",")]
    if 0 not in classes:
        raise ValueError(f"--slashed-zeros draws slashes through 0s, and --classes {cfg.classes} has none")
    return classes.index(0)


def part_weights(info: datasets.DatasetInfo, cfg: TrainConfig) -> torch.Tensor:
    """(N,) how often each training image is drawn, by the part of the data it comes from (``--part-weights``): a
    small population of writers (CVL's 67) among a large one (MNIST's 493) is seen more often than its share."""
    parts = info.parts.get(cfg.train_split, ())
    if not parts:
        raise ValueError(f"--part-weights needs data made of parts; {cfg.data}:{cfg.train_split} is one set")
    try:
        weights = [float(w) for w in cfg.part_weights.split(",")]
    except ValueError:
        raise ValueError(f"--part-weights takes numbers separated by commas, not {cfg.part_weights!r}") from None
    if len(weights) != len(parts) or min(weights) <= 0:
        raise ValueError(f"--part-weights needs {len(parts)} positive numbers, one for each of {', '.join(parts)}")
    if cfg.folds or cfg.limit_train or cfg.val_holdout:
        raise ValueError("--part-weights does not mix with --folds, --limit-train or --val-holdout, which "
                         "change which images the parts hold")
    loaded = [datasets.load(spec) for spec in parts]
    weights = torch.cat([torch.full((len(a),), w) for a, w in zip(loaded, weights, strict=True)])
    if cfg.classes:  # the images that --classes keeps, in the same order (a pair specialist of mixed data)
        labels = np.concatenate([a.labels for a in loaded])
        weights = weights[torch.from_numpy(np.isin(labels, parse_classes(cfg.classes, int(labels.max()) + 1)))]
    return weights


def as_tensors(arrays: datasets.Arrays, limit: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    n = limit or len(arrays)
    return torch.from_numpy(arrays.images[:n]).unsqueeze(1), torch.from_numpy(arrays.labels[:n])  # (N,1,H,W)


def training_splits(cfg: TrainConfig) -> tuple[datasets.Arrays, datasets.Arrays | None]:
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


def check_sequence_options(cfg: TrainConfig) -> None:
    """A sequence or line dataset has a row of targets per image: the options made for one class per image do not
    apply. The line reader's targets are the digits alone, so its lines may be warped like digits; the sequence
    model's hold boxes, which a warp would move."""
    from ..models import model_entry

    line = model_entry(cfg.arch).reads == "line"
    unsupported = [flag for flag, on in (("--loss", cfg.loss != "ce"), ("--distractors", cfg.distractors),
                                         ("--classes", cfg.classes), ("--hard-examples", cfg.hard_examples),
                                         ("--label-smoothing", cfg.label_smoothing),
                                         ("--slashed-zeros", cfg.slashed_zeros),
                                         ("augmentation (--rotate, --scale, --shift, --shear, --elastic, --thickness)",
                                          cfg.augment.enabled and not line)) if on]
    if unsupported:
        what = ("the line reader (the digits of each line)" if line else
                "the sequence model (a length, five digits and their boxes per image)")
        raise ValueError(f"{cfg.data} trains {what}; it takes none of: {', '.join(unsupported)}"
                         + ("" if line else " (augmentation would move the boxes; the sequences are generated afresh "
                                            "instead). Use --preset sequence"))


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

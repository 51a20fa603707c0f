"""What a training run is: every option of ``digitscope train`` is a field of ``TrainConfig``, with its help.

The command line (``digitscope.cli.train``) builds its options from these fields, so an option is declared once,
here. A wrong value fails when the config is made, not after the first epoch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..data.augment import AugmentConfig
from ..inference.classifier import DECISIONS
from .losses import LOSSES
from .selection import SELECTION_RULES

NO_VALIDATION = "none"  # --val-split none: a final fit (splits.check_final_fit)


def option(default, help: str, choices: tuple[str, ...] = ()):
    """A config field with the help its command-line option shows, and the values it may take (if few)."""
    factory = {"default_factory": dict} if default == {} else {"default": default}
    return field(**factory, metadata={"help": help, "choices": choices})


@dataclass
class TrainConfig:
    arch: str = option("digitnet", "architecture from the registry (`digitscope models`)")
    arch_kwargs: dict = option({}, 'architecture options, JSON, e.g. \'{"width": 48}\'')
    data: str = option("mnist", "dataset to train on (`digitscope data list`)")
    train_split: str = option("train", "the dataset's split to train on")
    val_split: str = option("val", "the split to validate on; 'none': a final fit (with --selection last)")
    val_holdout: int = option(0, "> 0: validate on the last N images of the training split instead "
                                 "(data with no validation split)")
    classes: str = option("", "train on these classes only, relabelled 0..K-1 in the order given "
                              "('4,9': a 4-vs-9 specialist)")
    init: str = option("", "start from this saved model's weights where they fit (a specialist from its generalist)")
    freeze: int = option(0, "with --init: keep its first N layers as they are (a detector sharing them with its "
                            "reader)")
    epochs: int = option(15, "passes over the training images")
    batch_size: int = option(128, "images per step, over all processes together")
    optimizer: str = option("adamw", "the optimizer", ("adamw", "sgd", "adadelta"))
    lr: float = option(3e-3, "peak learning rate")
    weight_decay: float = option(5e-4, "weight decay")
    schedule: str = option("onecycle", "learning-rate schedule", ("onecycle", "cosine", "constant"))
    warmup: float = option(0.2, "fraction of steps spent warming up (onecycle)")
    loss: str = option("ce", "training loss: cross-entropy, the numerical-loss paper's loss (Suzuki et al. 2021), "
                             "or cross-entropy plus the expected cost under --cost", LOSSES)
    alpha: float = option(0.05, "numerical loss: weight of the value term")
    beta: float = option(0.9, "numerical loss: share of cross-entropy")
    values: str = option("", "numerical loss: the value of each class, comma-separated ('' = 0..K-1)")
    cost: str = option("", "cost matrix for --loss cost and --decision min-cost: numeric | 'I->J=c,...' | a file")
    cost_weight: float = option(1.0, "--loss cost: weight of the expected-cost term")
    decision: str = option("argmax", "the rule saved for prediction: argmax, or min-cost (the Bayes decision under "
                                     "--cost)", DECISIONS)
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy")
    ema_decay: float = option(0.999, "decay of the average of the weights that is validated and saved; 0 = off")
    rotate: float = option(10.0, "augmentation: largest rotation, degrees")
    scale: float = option(0.1, "augmentation: largest change of size, a fraction")
    shift: float = option(0.1, "augmentation: largest shift, a fraction of the image")
    shear: float = option(5.0, "augmentation: largest shear, degrees")
    elastic: float = option(0.0, "augmentation: strength of the elastic distortion")
    thickness: float = option(0.0, "augmentation: random stroke width, up to this amount thicker or thinner")
    slashed_zeros: float = option(0.0, "augmentation: this share of the training 0s drawn with a slash through "
                                       "them, as many European hands write a zero")
    precision: str = option("auto", "arithmetic: bf16 where the hardware has it (auto), or as named",
                            ("auto", "bf16", "fp32"))
    seed: int = option(0, "random seed of the weights, the order of the images and the augmentation")
    selection: str = option("one-se", "the epoch saved: the best val accuracy; the latest within one standard error "
                                      "of it (one-se); or the last, validation unread (a final fit)", SELECTION_RULES)
    patience: int = option(0, "stop after this many epochs without a better val accuracy; 0 = never")
    limit_train: int = option(0, "train on the first N images only (0 = all): smoke tests, quick looks")
    folds: int = option(0, "> 0: split the training images into this many folds and leave one out ...")
    holdout_fold: int = option(0, "... this one (out-of-fold scores for hard-example mining)")
    hard_examples: str = option("", "a file from `digitscope hard-examples`: oversample the hardest digits")
    hard_fraction: float = option(0.05, "the share of training digits counted as hard")
    hard_weight: float = option(3.0, "how many times as often a hard digit is drawn")
    part_weights: str = option("", "data made of parts (mnist-cvl): how often each part's images are drawn, "
                                   "comma-separated ('1,3': a CVL digit three times as often as an MNIST one)")
    hard_augment: float = option(1.5, "the hard digits' augmentation amplitudes, as a multiple of the others'")
    distractors: float = option(0.0, "> 0: this share of the images are generated non-digits, class 10 "
                                     "'not a digit'")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            allowed = f.metadata["choices"]
            if allowed and getattr(self, f.name) not in allowed:
                raise ValueError(f"--{flag(f.name)} {getattr(self, f.name)!r} is not an option; choose "
                                 f"{', '.join(allowed)}")
        if self.folds and not 0 <= self.holdout_fold < self.folds:
            raise ValueError(f"--holdout-fold must be in 0..{self.folds - 1}, not {self.holdout_fold}")

    @property
    def augment(self) -> AugmentConfig:
        return AugmentConfig(self.rotate, self.scale, self.shift, self.shear, self.elastic, self.thickness)

    @property
    def hard_augment_config(self) -> AugmentConfig:
        return AugmentConfig(*(self.hard_augment * v for v in dataclasses.astuple(self.augment)))


def flag(name: str) -> str:
    """A field's command-line name: arch_kwargs -> arch-kwargs."""
    return name.replace("_", "-")


# Named recipes; any field can still be overridden. The figures they reach are in benchmarks/LOG.md.
FLAGSHIP = dict(arch="digitnet", epochs=20, batch_size=128, lr=3e-3)
PRESETS: dict[str, dict] = {
    "flagship": FLAGSHIP,
    # The flagship's final fit: the same recipe on all 60,000 training images, its last epoch kept, since validation
    # chose the last epoch (20 of 20) in every flagship run (benchmarks/LOG.md).
    "flagship-full": {**FLAGSHIP, "train_split": "train-full", "val_split": NO_VALIDATION, "selection": "last"},
    "fast": dict(arch="quicknet", epochs=1, batch_size=64, lr=1e-2, rotate=8.0, scale=0.08, shift=0.08,
                 shear=0.0, ema_decay=0.99, label_smoothing=0.0),  # 1 epoch for 99.0%, --epochs 7 or 8 for 99.5%
    "sequence": dict(arch="seqnet", data="mnist-sequences", epochs=12, batch_size=128, lr=3e-3, label_smoothing=0.0,
                     rotate=0.0, scale=0.0, shift=0.0, shear=0.0),  # --data house-scenes for the colour scenes
    # The line reader on whole amounts: the real ones (ORAND's fit side, 414 amounts) drawn 20 times as often as
    # a synthetic one, so that about one line in eight is real; warps kept to what a line of handwriting does.
    # 16 epochs: after 8 it still learned (92.6% of training lines), and 16 read ORAND's choose side better for two
    # seeds out of two (docs/reading.md).
    "lines": dict(arch="linenet", data="amount-lines", epochs=16, batch_size=128, lr=2e-3, weight_decay=1e-4,
                  warmup=0.15, label_smoothing=0.0, ema_decay=0.0, rotate=2.0, scale=0.1, shift=0.06, shear=12.0,
                  thickness=0.5, part_weights="1,20", selection="last"),
    # The numerical-loss paper's recipe (Suzuki et al. 2021): Adam at 1e-3, constant, no augmentation.
    "paper": dict(optimizer="adamw", lr=1e-3, schedule="constant", epochs=10, label_smoothing=0.0,
                  ema_decay=0.0, rotate=0.0, scale=0.0, shift=0.0, shear=0.0, weight_decay=0.0),
}


def make_config(preset: str | None = None, **given) -> TrainConfig:
    """A preset's fields, then the ``given`` ones (None = not given): explicit options win over the preset."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose {', '.join(sorted(PRESETS))}")
    values = dict(PRESETS[preset]) if preset else {}
    values.update({k: v for k, v in given.items() if v is not None})
    return TrainConfig(**values)


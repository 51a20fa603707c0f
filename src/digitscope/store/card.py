"""The model card, typed: what ``NAME.json`` beside ``NAME.safetensors`` says of the model.

A card is written once by what made the model (training, ``ensemble combine``, ``gate``, specialists) and
added to by what fits something onto it (``calibrate``: ``calibration`` and ``reject``; the Reader's number
reject rule: ``reading``). Nested parts (the training config, metrics, the calibration report) stay dicts: they
are read by the code that wrote them, and typing them would only copy that code's names here.

Cards are files people read and diff, and the bundled ones are part of the package: reading one and writing
it back gives the same bytes. So a card remembers the order of the keys it was read with, keeps the keys this
version does not know (``extra``), and tells an absent key from one written as null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

CARD_FORMAT = "digitscope-model/1"
ALWAYS = ("format", "arch", "arch_kwargs")  # in every card written, even when empty
DEFAULT_CLASSES = 10  # what every architecture builds when its card's arch_kwargs do not say


@dataclass
class ModelCard:
    format: str = CARD_FORMAT
    reads: str | None = None  # 'digit' (one digit, 28 x 28) or 'sequence' (a whole number)
    arch: str = ""  # the registry name the network is rebuilt from
    arch_kwargs: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)  # a gate's reader and detector: where each came from
    members: list = field(default_factory=list)  # an ensemble's members: where each came from
    # A specialist bundle's generalist (where it came from), the pairs found, each specialist's run, and the routing
    # margin with the validation it was chosen on.
    generalist: dict = field(default_factory=dict)
    confused_pairs: list = field(default_factory=list)
    specialists: list = field(default_factory=list)
    routing: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # the training config (``TrainConfig`` as a dict)
    seed: int | None = None
    data: dict = field(default_factory=dict)  # the data trained on: names and checksums
    distractors: dict = field(default_factory=dict)  # the "not a digit" examples trained on, if any
    parameters: int | None = None
    code_version: str | None = None
    command: str | None = None  # the command that made the model
    metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # one record per training epoch
    distributed: dict = field(default_factory=dict)  # how a multi-process training ran
    device: str | None = None  # where it was trained: cpu, cuda
    precision: str | None = None  # the arithmetic it was trained in: bf16, fp32
    calibration: dict = field(default_factory=dict)  # temperature and the report it was fitted with
    reject: dict = field(default_factory=dict)  # the single-digit reject rule: score and threshold
    reading: dict = field(default_factory=dict)  # what the Reader takes from the card: prior weight, number rule
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as they are
    # The keys in the order they were read; those not read come after, in the order above.
    order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        return int(self.arch_kwargs.get("num_classes", DEFAULT_CLASSES))

    @property
    def temperature(self) -> float:
        """Set by ``digitscope fit temperature``; 1.0 for an uncalibrated model."""
        return float(self.calibration.get("temperature", 1.0))

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        """A card from a dict as it stands (a writer's, or a card already upgraded): no checks, no upgrade."""
        known = {f.name for f in fields(cls)} - {"extra", "order"}
        return cls(**{k: v for k, v in d.items() if k in known},
                   extra={k: v for k, v in d.items() if k not in known}, order=tuple(d))

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "order")}
        defaults = ModelCard()
        out = {}
        for key in self.order:
            if key in values:
                out[key] = values[key]
            elif key in self.extra:
                out[key] = self.extra[key]
        for key, value in values.items():
            if key not in out and (key in ALWAYS or value != getattr(defaults, key)):
                out[key] = value
        out.update((k, v) for k, v in self.extra.items() if k not in out)
        return out

    @classmethod
    def from_json(cls, source: str | Path) -> ModelCard:
        """A card from a file (a Path, or a str not starting with '{') or from JSON text, upgraded (``upgrade``)."""
        is_text = isinstance(source, str) and source.lstrip().startswith("{")
        d = json.loads(source if is_text else Path(source).read_text())
        if d.get("format") != CARD_FORMAT:
            where = "" if is_text else f"{source}: "
            raise ValueError(f"{where}not a digitscope model card (format {d.get('format')!r})")
        return cls.from_dict(upgrade(d))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def upgrade(d: dict) -> dict:
    """The one place where cards written by earlier versions become cards of this one; a current card comes back
    unchanged (same keys, same order).

    - ``reads`` was added after the first sequence architecture, ``seqnet``: older cards are of one digit but
      for it. Deciding it here keeps PyTorch and the architectures unimported for a model that runs from its
      compiled graph.
    - The reject score of 10-class models was called 'max-probability'; for them it is the same number as
      'digit-confidence', the name now used for every model.
    """
    if "reads" not in d:
        reads = "sequence" if d.get("arch") == "seqnet" else "digit"
        items = list(d.items())
        items.insert(list(d).index("format") + 1 if "format" in d else 0, ("reads", reads))  # where writers put it
        d = dict(items)
    if (d.get("reject") or {}).get("score") == "max-probability":
        d = {**d, "reject": {**d["reject"], "score": "digit-confidence"}}
    return d


def shared_training_data(cards: list[ModelCard], who: str) -> dict:
    """The training data of models that must have learnt the same images (an ensemble's members, a soup's
    ingredients): the first card's. ValueError naming ``who`` when their training checksums differ."""
    if len({c.data.get("train_checksum") for c in cards}) > 1:
        raise ValueError(f"{who} were trained on different data (training checksums differ); they must share "
                         "their training data")
    return cards[0].data

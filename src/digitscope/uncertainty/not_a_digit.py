"""Put a 10-class digit reader behind an 11-class "not a digit" detector and save the pair as one model
(``models.gate``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..labels import NOT_A_DIGIT
from ..models import count_parameters, create_model
from ..models.persist import load_model, save_model
from ..store.bundled import resolve_model_path
from ..store.card import ModelCard
from ..store.saved import code_version


def combine_gate(reader_path: str | Path, detector_path: str | Path, out: Path, command: str = "") -> ModelCard:
    """Load the reader (10 classes) and the detector (11: trained with ``--distractors``), check that they fit
    together (the architecture checks the classes), save ``out`` (``out.safetensors`` + ``out.json``); returns its
    card. A detector trained with ``--freeze N`` from this reader shares its first N layers: the gate runs them once.
    The result is uncalibrated: ``digitscope fit temperature`` fits its temperature and reject rule on validation,
    as for any model."""
    (reader, reader_card), (detector, detector_card) = (load_model(resolve_model_path(p))
                                                        for p in (reader_path, detector_path))
    if reader_card.data.get("name") != detector_card.data.get("name"):
        raise ValueError("the reader and the detector were trained on different datasets")
    parts = {role: {"arch": c.arch, "arch_kwargs": c.arch_kwargs}
             for role, c in (("reader", reader_card), ("detector", detector_card))}
    shared = detector_card.config.get("freeze", 0)
    if shared:
        check_shared_layers(reader, detector, shared, reader_path, detector_path)
    model = create_model("gate", **parts, shared=shared)
    model.reader.load_state_dict(reader.state_dict())
    own = model.detector.state_dict()
    model.detector.load_state_dict({k: v for k, v in detector.state_dict().items() if k in own})
    card = ModelCard(
        arch="gate", arch_kwargs={**parts, "num_classes": NOT_A_DIGIT + 1, "shared": shared},
        parts={role: {"path": str(p), "seed": c.seed, "command": c.command, "metrics": c.metrics.get("selected"),
                      **({"members": c.members} if c.members else {})}  # a soup's ingredients: how each was made
               for role, p, c in (("reader", reader_path, reader_card), ("detector", detector_path, detector_card))},
        data=reader_card.data, distractors=detector_card.distractors,
        parameters=count_parameters(model), code_version=code_version(), command=command,
    )
    return save_model(Path(out), model, card)


def check_shared_layers(reader: nn.Module, detector: nn.Module, shared: int, reader_path, detector_path) -> None:
    """A frozen detector shares its first layers only with the reader it was frozen from: the same weights and
    BatchNorm statistics, bit for bit."""
    mine, theirs = reader[:shared].state_dict(), detector[:shared].state_dict()
    if mine.keys() != theirs.keys() or not all(torch.equal(mine[k], theirs[k]) for k in mine):
        raise ValueError(f"the detector {detector_path} was trained with its first {shared} layers frozen, but from "
                         f"another model than the reader {reader_path}: train it with --init {reader_path} "
                         f"--freeze {shared}")

"""Bundle independently trained members into one saved ensemble model."""

from __future__ import annotations

from pathlib import Path

from ..models import count_parameters, create_model, model_entry
from ..models.persist import load_model, save_model
from ..store.bundled import resolve_model_path
from ..store.card import ModelCard, shared_training_data
from ..store.saved import code_version


def combine_members(member_paths: list[str | Path], out: Path, command: str = "") -> ModelCard:
    """Load each member (a training folder or saved model), check that they fit together, save ``out``
    (``out.safetensors`` + ``out.json``) as one model; returns its card."""
    if len(member_paths) < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {len(member_paths)}")
    models, cards = zip(*(load_model(resolve_model_path(p)) for p in member_paths), strict=True)
    reads = {model_entry(c.arch).reads for c in cards}
    if len(reads) > 1 or reads & {"sequence"}:
        raise ValueError(f"an ensemble's members all read digits or all read lines; these read {sorted(reads)}")
    classes = {c.num_classes for c in cards}
    if len(classes) > 1:
        raise ValueError(f"the members disagree on the number of classes: {sorted(classes)}")
    data = shared_training_data(list(cards), "an ensemble's members")
    arch = "line_ensemble" if reads == {"line"} else "ensemble"
    members = [{"arch": c.arch, "arch_kwargs": c.arch_kwargs} for c in cards]
    num_classes = classes.pop()
    model = create_model(arch, members=members, num_classes=num_classes)
    for slot, member in zip(model.members, models, strict=True):
        slot.load_state_dict(member.state_dict())
    card = ModelCard(
        arch=arch, arch_kwargs={"members": members, "num_classes": num_classes},
        members=[{"path": str(p), "seed": c.seed, "metrics": c.metrics.get("selected"), "command": c.command}
                 for p, c in zip(member_paths, cards, strict=True)],
        data=data, parameters=count_parameters(model), code_version=code_version(), command=command,
    )
    return save_model(Path(out), model, card)

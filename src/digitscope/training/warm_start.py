"""Starting from a saved model: its weights where they fit (``--init``), its first layers kept fixed (``--freeze``)."""

from __future__ import annotations

from safetensors.torch import load_file
from torch import nn

from ..models.gate import digit_reader_weights
from ..store.bundled import resolve_model_path
from ..store.saved import read_card, weights_path


def load_fitting_weights(model: nn.Module, source: str) -> None:
    """Copy the weights of saved model ``source`` (a name or path) into ``model`` wherever name and shape agree;
    the rest keep their fresh initialisation (a final layer for another number of classes). From a gate (the
    bundled default) they come from its digit reader."""
    path = resolve_model_path(source)
    saved = digit_reader_weights(load_file(str(weights_path(path))), read_card(path))
    own = model.state_dict()
    fitting = {k: v for k, v in saved.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise ValueError(f"--init {source}: none of its weights fit this architecture; "
                         "start from a model of the same one")
    model.load_state_dict(fitting, strict=False)


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

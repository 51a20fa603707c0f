"""What the one loop learns, for a digit classifier and for the sequence model alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .losses import make_loss


@dataclass(frozen=True)
class Task:
    """The classes of the model's output, the training loss, whether an answer is right (validation accuracy, and
    the selection that uses it) and the validation loss."""

    num_classes: int
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, targets) -> scalar
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, targets) -> (N,) bool
    val_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def task_for(cfg: TrainConfig, y_train: torch.Tensor, y_val: torch.Tensor | None) -> Task:
    """One class per image (y (N,)): a classifier, with the config's loss. A row of targets per image (y (N, T), the
    sequence datasets): the sequence model's length, digits and boxes, or the line reader's digits (CTC), read right
    only when the whole number is."""
    from ..models import model_entry

    if model_entry(cfg.arch).reads == "line":
        from ..models.linenet import LINE_CLASSES
        from ..reading import line_model as line

        return Task(LINE_CLASSES, line.line_loss, line.line_correct, line.line_loss)
    if y_train.ndim == 1:
        num_classes = int(y_train.max() if y_val is None else max(y_train.max(), y_val.max())) + 1
        return Task(num_classes, make_loss(cfg, num_classes), lambda z, y: z.argmax(1) == y, F.cross_entropy)
    from ..reading import sequence_model as sequence

    return Task(sequence.DIGIT_CLASSES, sequence.sequence_loss, sequence.sequence_correct, sequence.sequence_loss)

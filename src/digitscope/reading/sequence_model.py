"""The multi-digit capstone report's reader, reproduced as a baseline: one network reads a whole fixed-size image
and answers the length of the number, each of up to five digits (or "blank"), and a box around each digit.

Its training data are datasets like any other (``data.sequences``: ``mnist-sequences`` and ``house-scenes``),
with one row of targets per image instead of one class; ``training.tasks.task_for`` gives the one training loop this
module's loss and its test of a number read right. The segmentation ``Reader`` reads any length at any size;
this model reads at most ``SLOTS`` digits from images of the size it was trained on, and is there to be compared
with it (``benchmarks/sequence.py``).

Targets, (N, TARGETS) int64 per image: the length (1-5), the class of each of the five slots (0-9, BLANK after
the last digit), then each slot's box (x0, y0, x1, y1) in thousandths of the image's width and height (0 for a
blank slot). Outputs, (N, OUTPUTS) float: length logits (0-5), five times 11 digit logits, then 20 box
coordinates before a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..inference.forward import float_batches
from ..models.seqnet import BLANK, BOX_SCALE, BOX_WEIGHT, DIGIT_CLASSES, LENGTHS, OUTPUTS, SLOTS, TARGETS


@dataclass(frozen=True)
class Decoded:
    lengths: np.ndarray  # (N,) 0..5
    digits: np.ndarray  # (N, 5) 0-9, BLANK at and after the length
    boxes: np.ndarray  # (N, 5, 4) float, fractions of width and height

    def texts(self) -> list[str]:
        return ["".join(str(d) for d in row[:n]) for row, n in zip(self.digits, self.lengths, strict=True)]


def split_outputs(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, OUTPUTS) -> length logits (N, 6), digit logits (N, 5, 11), boxes (N, 5, 4) in [0, 1]."""
    length = outputs[:, :LENGTHS]
    digits = outputs[:, LENGTHS:LENGTHS + SLOTS * DIGIT_CLASSES].unflatten(1, (SLOTS, DIGIT_CLASSES))
    boxes = torch.sigmoid(outputs[:, LENGTHS + SLOTS * DIGIT_CLASSES:]).unflatten(1, (SLOTS, 4))
    return length, digits, boxes


def split_targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, TARGETS) -> lengths (N,), slot classes (N, 5), boxes (N, 5, 4) as fractions."""
    return y[:, 0], y[:, 1:1 + SLOTS], y[:, 1 + SLOTS:].unflatten(1, (SLOTS, 4)).float() / BOX_SCALE


def sequence_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the length and of every slot (blank slots learn BLANK), plus BOX_WEIGHT times the mean
    L1 error of the real digits' boxes."""
    length_logits, digit_logits, boxes = split_outputs(outputs.float())
    lengths, classes, true_boxes = split_targets(y)
    loss = F.cross_entropy(length_logits, lengths) + F.cross_entropy(digit_logits.flatten(0, 1), classes.flatten())
    real = classes != BLANK  # (N, 5)
    if real.any():
        loss = loss + BOX_WEIGHT * (boxes[real] - true_boxes[real]).abs().mean()
    return loss


def decode(outputs: torch.Tensor) -> Decoded:
    length_logits, digit_logits, boxes = split_outputs(outputs.float())
    lengths, digits = length_logits.argmax(1), digit_logits[..., :BLANK].argmax(2)  # a slot read is a digit
    digits = torch.where(torch.arange(SLOTS)[None, :] < lengths[:, None], digits, BLANK)
    return Decoded(lengths.numpy(), digits.numpy(), boxes.numpy())


def sequence_correct(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) True where the whole number is read right: its length and every digit."""
    decoded = decode(outputs.detach().cpu())
    lengths, classes, _ = split_targets(y.cpu())
    right = (torch.from_numpy(decoded.lengths) == lengths) & (torch.from_numpy(decoded.digits) == classes).all(1)
    return right.to(y.device)


def targets(texts: list[str], boxes: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Texts of 1-5 digits and their (L, 4) pixel boxes in images of ``size`` (H, W) -> (N, TARGETS) int64."""
    h, w = size
    out = np.zeros((len(texts), TARGETS), np.int64)
    out[:, 1:1 + SLOTS] = BLANK
    for row, (text, box) in zip(out, zip(texts, boxes, strict=True), strict=True):
        if not 1 <= len(text) <= SLOTS:
            raise ValueError(f"the sequence model reads 1-{SLOTS} digits, not {len(text)} ({text!r})")
        row[0] = len(text)
        row[1:1 + len(text)] = [int(c) for c in text]
        scaled = np.asarray(box, np.float64) / [w, h, w, h] * BOX_SCALE
        row[1 + SLOTS:1 + SLOTS + 4 * len(text)] = np.round(scaled).astype(np.int64).ravel()
    return out


@torch.no_grad()
def read_sequences(model: torch.nn.Module, images: np.ndarray, batch_size: int = 256) -> Decoded:
    """Read (N, H, W) uint8 images of the size the model was trained on (bright ink on black)."""
    model.eval()
    outputs = [model(x) for x in float_batches(images, batch_size)]
    return decode(torch.cat(outputs) if outputs else torch.zeros(0, OUTPUTS))


def load_sequence_model(name_or_path) -> torch.nn.Module:
    """A saved sequence model (``digitscope train --preset sequence``), ready for ``read_sequences``."""
    from ..models import model_entry
    from ..models.persist import load_model
    from ..store.bundled import resolve_model_path

    model, card = load_model(resolve_model_path(name_or_path))
    if model_entry(card.arch).reads != "sequence":
        raise ValueError(f"{name_or_path} is a {card.arch} model of one digit, not a sequence model: "
                         "use digitscope.load")
    return model.eval()

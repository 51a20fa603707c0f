"""The sequence model of the multi-digit capstone report (Amundson 2017): one CNN over a whole image of 1-5
digits, with heads for the length, each digit and each digit's box."""

from __future__ import annotations

from torch import nn

from .registry import register_model
from .zoo import Standardize, conv_bn

# The output layout, shared with reading.sequence_model (targets, loss, decoding).
SLOTS = 5
BLANK = 10
DIGIT_CLASSES = BLANK + 1
LENGTHS = SLOTS + 1  # 0..5
TARGETS = 1 + SLOTS + 4 * SLOTS
OUTPUTS = LENGTHS + SLOTS * DIGIT_CLASSES + 4 * SLOTS
BOX_SCALE = 1000  # box targets are stored in thousandths of the image size
# The box term is small beside six cross-entropies; the capstone report found its localisation poor until it
# weighed more.
BOX_WEIGHT = 5.0


@register_model("the multi-digit capstone report's reader: a CNN over a fixed-size image of 1-5 digits with "
                "heads for the length, five digits (or blank) and their boxes; trained on mnist-sequences or "
                "house-scenes",
                reads="sequence")
def seqnet(num_classes: int = DIGIT_CLASSES, width: int = 32, dropout: float = 0.3, hidden: int = 512) -> nn.Module:
    if num_classes != DIGIT_CLASSES:
        raise ValueError(f"the sequence model reads each slot as a digit or blank ({DIGIT_CLASSES} classes), "
                         f"not {num_classes}: train it on a sequence dataset (mnist-sequences, house-scenes)")
    w1, w2, w3 = width, 2 * width, 4 * width
    return nn.Sequential(
        Standardize(),
        conv_bn(1, w1, 5, stride=2, padding=2), conv_bn(w1, w1, 3, padding=1),  # (N, w1, H/2, W/2)
        conv_bn(w1, w2, 3, stride=2, padding=1), conv_bn(w2, w2, 3, padding=1),  # (N, w2, H/4, W/4)
        conv_bn(w2, w3, 3, stride=2, padding=1), conv_bn(w3, w3, 3, padding=1),  # (N, w3, H/8, W/8)
        # A coarse grid keeps where things are: which slot a digit fills, where its box goes.
        nn.AdaptiveAvgPool2d((2, 9)),
        nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(w3 * 18, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(hidden, OUTPUTS),
    )

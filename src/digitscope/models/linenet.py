"""A line reader (CRNN with CTC, as in the ResNet + CTC reader of ORAND-CAR-A's literature): a CNN turns a whole
amount, 32 pixels high, into a row of columns, a bidirectional LSTM reads the row, and every column answers a
digit or "blank". No segmentation: touching digits, a cursive "00" and digits joined to the paper's pattern are
read as written, which is where cutting a line into digits fails."""

from __future__ import annotations

import torch
from torch import nn

from ..preprocess import LINE_SIZE
from .registry import register_model
from .zoo import Standardize, conv_bn

BLANK = 10  # CTC's "no digit in this column"
LINE_CLASSES = BLANK + 1
MAX_DIGITS = 10  # the longest number a training target holds: targets are (N, 1 + MAX_DIGITS)
COLUMNS = LINE_SIZE[1] // 4  # the output steps: one per 4 pixels of width


class LineNet(nn.Module):
    """(N, 1, 32, 160) floats in [0, 1], ink bright on black -> (N, COLUMNS, LINE_CLASSES) logits."""

    def __init__(self, width: int = 16, hidden: int = 128, dropout: float = 0.2):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            Standardize(),
            conv_bn(1, w, 3, padding=1), nn.MaxPool2d(2),  # (N, w, 16, 80)
            conv_bn(w, 2 * w, 3, padding=1), nn.MaxPool2d(2),  # (N, 2w, 8, 40)
            conv_bn(2 * w, 4 * w, 3, padding=1), conv_bn(4 * w, 4 * w, 3, padding=1),
            nn.MaxPool2d((2, 1)),  # (N, 4w, 4, 40): height halves, the columns stay
            conv_bn(4 * w, 6 * w, 3, padding=1), conv_bn(6 * w, 6 * w, 3, padding=1),
            nn.MaxPool2d((2, 1)),  # (N, 6w, 2, 40)
            conv_bn(6 * w, 8 * w, (2, 1)),  # (N, 8w, 1, 40)
            nn.Dropout(dropout),
        )
        self.rows = nn.LSTM(8 * w, hidden, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, LINE_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = self.features(x).squeeze(2).transpose(1, 2).float()  # (N, COLUMNS, 8w)
        # The LSTM in float32 whatever the autocast: its recurrences drift in bf16.
        with torch.autocast(x.device.type, enabled=False):
            read, _ = self.rows(columns)  # (N, COLUMNS, 2 * hidden)
        return self.out(read)


@register_model("a line reader (CRNN + CTC): a whole amount in 32x160, read column by column as digits or blank, "
                "no segmentation; trained on amount-lines",
                reads="line")
def linenet(num_classes: int = LINE_CLASSES, width: int = 16, hidden: int = 128, dropout: float = 0.2) -> nn.Module:
    if num_classes != LINE_CLASSES:
        raise ValueError(f"the line reader answers a digit or blank per column ({LINE_CLASSES} classes), "
                         f"not {num_classes}: train it on a line dataset (amount-lines)")
    return LineNet(width, hidden, dropout)

"""The line reader's side of reading (``models.linenet``): its targets, loss and decoding, and the probability it
gives any text of a line.

Targets, (N, 1 + MAX_DIGITS) int64 per image: the number of digits, then the digits, zero after the last. Outputs,
(N, COLUMNS, LINE_CLASSES) logits: every column a digit or BLANK. A text is read off the columns the CTC way: the
likeliest class of each column, repeats merged, blanks dropped (``greedy_texts``); the probability of a given text
is the sum over every column labelling that reads as it (``text_log_probs``), which lets the Reader weigh the line
reader's opinion of *any* candidate reading, its own or the segmentation's.

A deep ensemble of line readers (``models.ensemble.line_ensemble``) gives every member's columns: (N, MEMBERS,
COLUMNS, LINE_CLASSES), MEMBERS = 1 for one line reader (``line_log_probs``). A text's probability is then the
geometric mean of the members' probabilities of it (log-linear pooling: a text one member is sure of and the others
doubt scores low, where the plain mean would keep a third of it), and the ensemble reads the likeliest of its
members' own texts (``read_texts``, ``line_text``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import logsumexp

from ..inference.backends import OnnxBackend, TorchBackend, compiled_graph, onnxruntime_available
from ..models.linenet import BLANK, COLUMNS, LINE_CLASSES, MAX_DIGITS
from ..preprocess import LINE_SIZE
from ..store.saved import card_path, weights_path


def line_targets(texts: list[str]) -> np.ndarray:
    """Texts of 1-MAX_DIGITS digits -> (N, 1 + MAX_DIGITS) int64 targets."""
    out = np.zeros((len(texts), 1 + MAX_DIGITS), np.int64)
    for row, text in zip(out, texts, strict=True):
        if not 1 <= len(text) <= MAX_DIGITS or not text.isdigit():
            raise ValueError(f"a line reader's target is 1-{MAX_DIGITS} digits, not {text!r}")
        row[0] = len(text)
        row[1:1 + len(text)] = [int(c) for c in text]
    return out


def target_texts(y: np.ndarray | torch.Tensor) -> list[str]:
    return ["".join(str(int(d)) for d in row[1:1 + int(row[0])]) for row in y]


def _log_probs(logits: torch.Tensor) -> torch.Tensor:
    return logits.float().log_softmax(-1).transpose(0, 1)  # (COLUMNS, N, LINE_CLASSES), as ctc_loss takes them


def line_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """CTC loss of (N, COLUMNS, LINE_CLASSES) logits against (N, 1 + MAX_DIGITS) targets, per target digit."""
    log_probs = _log_probs(logits)
    lengths = y[:, 0]
    columns = torch.full((len(y),), log_probs.shape[0], dtype=torch.long, device=y.device)
    # zero_infinity: a target longer than the columns can spell (never in the sets made here) adds no NaN
    return F.ctc_loss(log_probs, y[:, 1:], columns, lengths, blank=BLANK, zero_infinity=True)


def greedy_texts(logits: torch.Tensor | np.ndarray) -> list[str]:
    """The likeliest class of each column, repeats merged and blanks dropped: (N, COLUMNS, C) -> N texts."""
    best = np.asarray(torch.as_tensor(logits).argmax(-1))  # (N, COLUMNS)
    texts = []
    for row in best:
        keep = (row != BLANK) & np.concatenate([[True], row[1:] != row[:-1]])
        texts.append("".join(str(int(c)) for c in row[keep]))
    return texts


def line_correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) True where the greedy reading is the whole target."""
    right = [a == b for a, b in zip(greedy_texts(logits.detach().cpu()), target_texts(y.cpu()), strict=True)]
    return torch.tensor(right, device=y.device)


def member_text_log_probs(log_probs: np.ndarray, texts: list[str]) -> np.ndarray:
    """log P(text | line) by each member, (MEMBERS, TEXTS), for the texts of one line: log_probs (COLUMNS,
    LINE_CLASSES) log-softmax of its logits (one member), or (MEMBERS, COLUMNS, LINE_CLASSES) of an ensemble's.
    An empty text is the line read as all blanks; a text longer than the columns can spell is -inf."""
    members = torch.from_numpy(np.asarray(log_probs, np.float32)).reshape(-1, *np.shape(log_probs)[-2:])
    m, t = len(members), len(texts)
    if not texts:
        return np.zeros((m, 0))
    lp = members.unsqueeze(2).expand(-1, -1, t, -1).transpose(0, 1).reshape(members.shape[1], m * t, -1)
    lengths = torch.tensor([len(text) for text in texts] * m)
    targets = torch.tensor([int(c) for text in texts for c in text] * m, dtype=torch.long)
    columns = torch.full((m * t,), lp.shape[0], dtype=torch.long)
    nll = F.ctc_loss(lp, targets, columns, lengths, blank=BLANK, reduction="none", zero_infinity=False)
    return -nll.double().numpy().reshape(m, t)


def geometric_mean(member_scores: np.ndarray) -> np.ndarray:
    """(MEMBERS, TEXTS) log-probabilities -> (TEXTS,): the log of the geometric mean of the members' probabilities."""
    return member_scores.mean(0)


def text_log_probs(log_probs: np.ndarray, texts: list[str],
                   pool: Callable[[np.ndarray], np.ndarray] = geometric_mean) -> np.ndarray:
    """(TEXTS,) log P(text | line) of a line reader; an ensemble's pools its members' (``member_text_log_probs``),
    by default the geometric mean of their probabilities of each text."""
    return pool(member_text_log_probs(log_probs, texts))


def line_text(members: np.ndarray, pool: Callable[[np.ndarray], np.ndarray] = geometric_mean,
              also: tuple[str, ...] = ()) -> tuple[str, dict[str, float]]:
    """What one line reads, (MEMBERS, COLUMNS, LINE_CLASSES): one member's greedy text, or of an ensemble's members'
    greedy texts the one the members together find likeliest (`pool`: their (MEMBERS, TEXTS) log-probabilities ->
    one score per text). Returns it and the score of each text scored: those texts and `also`, in one CTC pass."""
    greedy = sorted(set(greedy_texts(members)))
    texts = list(dict.fromkeys([*greedy, *also]))
    scores = text_log_probs(members, texts, pool)
    return greedy[int(np.argmax(scores[:len(greedy)]))], dict(zip(texts, scores.tolist(), strict=True))


def read_texts(log_probs: np.ndarray, pool: Callable[[np.ndarray], np.ndarray] = geometric_mean) -> list[str]:
    """What each line reads (``line_text``), (N, MEMBERS, COLUMNS, LINE_CLASSES) -> N texts."""
    return [line_text(members, pool)[0] for members in log_probs]


def line_log_probs(backend, lines: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, MEMBERS, COLUMNS, LINE_CLASSES) log-softmax of a line reader's outputs for (N, *LINE_SIZE) uint8 line
    images, MEMBERS = 1 but for an ensemble; ``backend``: ``line_backend``'s, or a line reader's network."""
    if isinstance(backend, torch.nn.Module):
        backend = TorchBackend(backend.eval(), torch.device("cpu"))
    if len(lines) == 0:
        return np.zeros((0, 1, COLUMNS, LINE_CLASSES), np.float32)
    logits = backend.logits(np.asarray(lines), batch_size)  # (N, COLUMNS, CLASSES), an ensemble's (N, MEMBERS, ...)
    logits = logits.reshape(len(lines), -1, COLUMNS, LINE_CLASSES)
    return logits - logsumexp(logits, axis=-1, keepdims=True)


def line_backend(model: torch.nn.Module, saved: Path | None = None):
    """What runs a line reader: its onnxruntime graph (checked against PyTorch; for a saved model, exported once
    and cached like a classifier's), about three times as fast as eager PyTorch on one line; PyTorch where
    onnxruntime is missing."""
    if not onnxruntime_available():
        return TorchBackend(model.eval(), torch.device("cpu"))

    def export() -> bytes:
        from ..inference.export import checked_onnx

        return checked_onnx(model.eval(), LINE_SIZE)

    graph = export() if saved is None else compiled_graph(weights_path(saved), card_path(saved), export)
    return OnnxBackend(graph)


def load_line_model(name_or_path) -> tuple[torch.nn.Module, object]:
    """A saved line reader (``digitscope train --preset lines``, the bundled ``amounts``) ready for
    ``line_log_probs``, and its card."""
    from ..models import model_entry
    from ..models.persist import load_model
    from ..store.bundled import resolve_model_path

    model, card = load_model(resolve_model_path(name_or_path))
    if model_entry(card.arch).reads != "line":
        raise ValueError(f"{name_or_path} is a {card.arch} model, not a line reader (linenet)")
    return model.eval(), card

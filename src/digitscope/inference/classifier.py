"""The model object users hold: ``digitscope.load(name_or_path)`` -> ``DigitClassifier``.

scikit-learn conventions: ``predict_proba(images)`` -> (N, K) probabilities, ``predict(images)`` ->
(N,) digits, where images are uint8 arrays N x 28 x 28 in MNIST style (white ink on black).
``predict_files`` runs real image files through the one preprocessing path first.

A model trained with distractors (``digitscope train --distractors 0.1``) has K = 11 classes: the ten digits
and ``NOT_A_DIGIT`` (10). Its ``predict_proba`` returns all 11 columns and ``predict`` answers 10 for "not a
digit"; ``classify`` reports the ten digit probabilities of that 11-way distribution (not renormalised, so
they sum to 1 - p(not a digit)) and p(not a digit) beside them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import softmax

from ..costs import min_cost_decision, parse_cost
from ..labels import NOT_A_DIGIT
from ..store.bundled import resolve_model_path
from ..store.card import ModelCard
from ..store.saved import WEIGHTS_DIGEST_KEY, card_path, int8_path, read_card, weights_digest, weights_path
from .backends import (
    PREDICT_BATCH,
    Backend,
    OnnxBackend,
    TorchBackend,
    compiled_graph,
    default_device_type,
    resolve_backend,
)
from .forward import as_batch

if TYPE_CHECKING:
    import torch
    from torch import nn

DECISIONS = ("argmax", "min-cost")


@dataclass
class Prediction:
    file: str
    digit: int | None
    confidence: float | None
    probabilities: list[float] | None
    rejected: bool
    reason: str | None  # 'not_a_digit' | 'uncertain' | 'error' | None
    error: str | None = None
    not_a_digit: float | None = None  # p(not a digit), from models with that class

    def to_dict(self) -> dict:
        # Shallow: the fields are numbers, strings and a list of floats, which asdict would deep-copy (a tenth
        # of the server's work per digit).
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for optional in ("error", "not_a_digit"):
            if d[optional] is None:
                del d[optional]
        return d


class DigitClassifier:
    """``model``: the network, or None with ``saved``, the stem of a saved model (NAME for NAME.safetensors +
    NAME.json), whose network is then loaded only when something needs PyTorch: onnxruntime inference runs
    from the model's compiled graph (``backends.compiled_graph``) without it."""

    def __init__(self, model: nn.Module | None, card: ModelCard | dict, device: torch.device | None = None,
                 mc_samples: int = 0, decision: str | None = None, cost: str | None = None, backend: str = "auto",
                 threads: int | None = None, saved: Path | None = None):
        if model is None and saved is None:
            raise ValueError("a DigitClassifier needs a model, or the path of a saved one")
        self._network, self.saved, self._device = model, saved, device
        self.source = str(saved) if saved is not None else "a model in memory"  # what reports call it
        # A network built in memory (a test's, the specialists' routing) may come with a dict of what its card
        # would say.
        self.card = card if isinstance(card, ModelCard) else ModelCard.from_dict(card)
        self.mc_samples = mc_samples  # > 0: predict_proba averages this many MC dropout passes
        # What computes the logits (auto, torch, onnxruntime), checked now and built on first use; the torch
        # model stays for embeddings and MC dropout.
        self.device_type = device.type if device is not None else default_device_type()
        resolve_backend(backend, self.device_type, mc_samples)
        self.backend_choice = backend
        self.threads = threads  # onnxruntime threads per call; None: every usable core
        if backend == "int8":
            _ = self.backend  # built now: a missing or stale int8 graph fails at load, not at the first digit
        # The decision rule and cost matrix the model was trained or calibrated with, unless overridden.
        config = self.card.config
        self.decision = decision or config.get("decision", "argmax")
        cost_spec = cost if cost is not None else config.get("cost", "")
        self.cost = parse_cost(cost_spec, self.num_classes) if cost_spec else None
        if self.decision not in DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}; choose one of: {', '.join(DECISIONS)}")
        if self.decision == "min-cost" and self.cost is None:
            raise ValueError("--decision min-cost needs a cost matrix: --cost numeric, --cost '1->7=5' or a file")
        if mc_samples:
            from .mc_dropout import has_dropout

            if mc_samples < 2 or not has_dropout(self.model):
                raise ValueError(f"--mc-samples needs a model with dropout and at least 2 samples "
                                 f"({self.card.arch!r}, {mc_samples} asked)")

    @classmethod
    def load(cls, name_or_path: str | Path | None = None, device: torch.device | None = None,
             mc_samples: int = 0, decision: str | None = None, cost: str | None = None,
             backend: str = "auto", threads: int | None = None) -> DigitClassifier:
        saved = resolve_model_path(name_or_path)
        card = read_card(saved)
        if card.reads != "digit":
            raise ValueError(f"{name_or_path} is a {card.arch} model, which reads a whole number from an image of "
                             "the size it was trained on, not one digit: load it with "
                             "digitscope.reading.sequence_model.load_sequence_model")
        classifier = cls(None, card, device, mc_samples, decision, cost, backend, threads, saved=saved)
        classifier.source = str(name_or_path or "default")
        return classifier

    @cached_property
    def device(self) -> torch.device:
        from ..runtime import default_device

        return self._device or default_device()

    @cached_property
    def model(self) -> nn.Module:
        """The PyTorch network, in eval mode on ``device``; for a saved model, loaded on first use."""
        from ..models.persist import load_model

        network = self._network if self._network is not None else load_model(self.saved)[0]
        return network.to(self.device).eval()

    @cached_property
    def backend(self) -> Backend:
        """Built on first use. onnxruntime runs a saved model's compiled graph, made (with PyTorch) on its first
        load on this machine; 'auto' falls back to torch, with a warning, when a model does not survive export
        (an architecture the exporter cannot trace faithfully), where an explicit 'onnxruntime' raises. Likewise
        'auto' falls back from an int8 graph the weights beside it have outgrown to their float graph."""
        # 'auto' asks for the int8 graph of a saved model that keeps one beside its weights.
        has_int8 = self.saved is not None and int8_path(self.saved).exists()
        choice = resolve_backend(self.backend_choice, self.device_type, self.mc_samples, has_int8)
        if choice == "int8":
            try:
                return self._int8_backend()
            except ValueError as exc:
                if self.backend_choice != "auto":
                    raise
                warnings.warn(f"{exc}; using the float graph", stacklevel=2)
                choice = "onnxruntime"
        if choice == "onnxruntime":
            try:
                return OnnxBackend(self._onnx_graph(), self.threads)
            except Exception as exc:  # exporter and runtime raise many unrelated types; torch is always right
                if self.backend_choice != "auto":
                    raise
                model = self.model  # weights that cannot be loaded at all fail here, as what they are
                warnings.warn(f"onnxruntime backend unavailable for this model, using torch: {exc}", stacklevel=2)
                return TorchBackend(model, self.device)
        return TorchBackend(self.model, self.device)

    def _int8_backend(self) -> OnnxBackend:
        """onnxruntime on the model's int8 graph (``store.saved.int8_path``), refused unless made from these weights."""
        if self.saved is None:
            raise ValueError("the int8 backend runs a saved model's int8 graph; this model is only in memory")
        path = int8_path(self.saved)
        if not path.exists():
            raise ValueError(f"{self.source} has no int8 graph ({path}): make one with `digitscope export --model "
                             f"{self.saved} --quantize int8 --calibration DIGITS --out {path}`, DIGITS a training set "
                             "like what it reads, or use the onnxruntime backend")
        backend = OnnxBackend(path, self.threads, name="int8")
        made_from = backend.session.get_modelmeta().custom_metadata_map.get(WEIGHTS_DIGEST_KEY)
        if made_from != weights_digest(self.saved):
            raise ValueError(f"{path} was not made from the weights beside it (they changed since): export it again "
                             f"with `digitscope export --model {self.saved} --quantize int8 --calibration DIGITS "
                             f"--out {path}`")
        return backend

    def _onnx_graph(self) -> bytes:
        def export() -> bytes:
            from .export import checked_onnx

            return checked_onnx(self.model)

        return export() if self.saved is None else compiled_graph(weights_path(self.saved), card_path(self.saved),
                                                                   export)

    @property
    def num_classes(self) -> int:
        return self.card.num_classes

    @property
    def classes_(self) -> np.ndarray:
        """What each column of ``predict_proba`` stands for, as scikit-learn's ``classes_``: the digits 0-9, then
        NOT_A_DIGIT (10) for a model with that class; a model trained on some classes only (``--classes 4,9``)
        has them, in its training's order."""
        chosen = self.card.config.get("classes")
        return np.array([int(c) for c in chosen.split(",")] if chosen else range(self.num_classes))

    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(N, K) float32 logits for uint8 images (N, 28, 28) or a single (28, 28) image, from the backend."""
        x = as_batch(images)
        return self.backend.logits(x, batch_size) if len(x) else np.zeros((0, self.num_classes), np.float32)

    @property
    def digit_network(self) -> nn.Module:
        """The network that tells the digits apart: the model, a gate's reader or a specialist bundle's generalist's
        (their digits are that network's, so are their features)."""
        from ..models.gate import digit_reader

        return digit_reader(self.model, self.card)

    def embed(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(N, D) features of the layer before the digit classifier (the input of ``digit_network``'s final
        layer)."""
        import torch
        from torch import nn

        net = self.digit_network
        if not (isinstance(net, nn.Sequential) and isinstance(net[-1], nn.Linear)):
            raise ValueError(f"{self.card.arch!r} does not end in a Linear classifier: no embedding to give")
        body = net[:-1]
        x = as_batch(images)
        with torch.no_grad():
            out = [body(torch.from_numpy(x[i:i + batch_size]).to(self.device).unsqueeze(1).float().div_(255))
                   .float().flatten(1).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, net[-1].in_features), np.float32)

    @property
    def temperature(self) -> float:
        """Set by `digitscope fit temperature` (fitted on validation); 1.0 for an uncalibrated model."""
        return self.card.temperature

    def member_proba(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(S, N, K) probabilities of each ensemble member, or of each MC dropout pass (``mc_samples``)."""
        import torch

        from ..models.ensemble import Ensemble
        from .mc_dropout import mc_dropout_proba

        if self.mc_samples:
            return mc_dropout_proba(self, images, self.mc_samples)
        if not isinstance(self.model, Ensemble):
            raise ValueError("member probabilities need an ensemble model or MC dropout samples (--mc-samples N)")
        x = as_batch(images)
        with torch.no_grad():
            parts = [self.model.member_probabilities(
                torch.from_numpy(x[i:i + batch_size]).to(self.device).unsqueeze(1).float().div_(255)).cpu()
                for i in range(0, len(x), batch_size)]
        return torch.cat(parts, dim=1).numpy()

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        if self.mc_samples:  # the mean of the dropout passes; the temperature was fitted without dropout
            return self.member_proba(images).mean(axis=0)
        return self.proba_from_logits(self.logits(images))

    def proba_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of logits already computed: callers that need both run the network once."""
        return softmax(np.asarray(logits, np.float32) / np.float32(self.temperature), axis=1)

    @property
    def knows_not_a_digit(self) -> bool:
        """True for a model trained with distractors: its class 10 is "not a digit"."""
        return self.num_classes == NOT_A_DIGIT + 1

    def is_uncertain(self, probs: np.ndarray) -> np.ndarray:
        """(N,) True where the card's reject rule (`digitscope fit temperature`) refuses to answer: the one place
        that decides "not sure", on the (N, K) probabilities' digit confidence (``scores.digit_confidence``).
        Without a rule nothing is refused."""
        from .scores import digit_confidence

        rule = self.card.reject
        if not rule:
            return np.zeros(len(probs), bool)
        if rule["score"] != "digit-confidence":  # older names are upgraded as the card is read (store.card.upgrade)
            raise ValueError(f"unknown reject score {rule['score']!r} in the model card")
        return digit_confidence(probs) < rule["threshold"]

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """(N,) answers from probabilities: the most probable digit, or the one of least expected cost."""
        if self.decision == "min-cost":
            return min_cost_decision(probs, self.cost)
        return np.asarray(probs).argmax(axis=1)

    def best_digit(self, probs: np.ndarray) -> np.ndarray:
        """(N,) the digit answered, or for a "not a digit" answer the digit it would have been: the decision
        among the ten digit columns alone."""
        if not self.knows_not_a_digit:
            return self.decide(probs)
        digits = np.asarray(probs)[:, :NOT_A_DIGIT]  # rescaling a row changes neither argmax nor min-cost
        if self.decision == "min-cost":
            return min_cost_decision(digits, self.cost[:NOT_A_DIGIT, :NOT_A_DIGIT])
        return digits.argmax(axis=1)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N,) answers: a digit, or NOT_A_DIGIT (10) from a model with that class."""
        return self.decide(self.predict_proba(images))

    def classify(self, canonical: np.ndarray, names: list[str]) -> list[Prediction]:
        """Answers for MNIST-style digits (N, 28, 28) already through ``to_mnist``, one per name: the one place
        that decides the digit, its confidence and whether to refuse (blank, or the "not a digit" class
        winning: not_a_digit; below the reject threshold: uncertain), with the best digit guess still given for
        people to see. ``confidence`` is that digit's probability."""
        from ..preprocess import is_blank

        canonical = as_batch(canonical)
        results = [Prediction(name, None, None, None, True, "not_a_digit") for name in names]
        inked = np.flatnonzero(~is_blank(canonical))
        if len(inked):
            probs = self.predict_proba(canonical[inked])  # (n, K)
            uncertain = self.is_uncertain(probs)
            not_digit = self.decide(probs) == NOT_A_DIGIT  # never for a 10-class model
            guesses = self.best_digit(probs)
            for i, p, unsure, refused, digit in zip(inked, probs, uncertain, not_digit, guesses, strict=True):
                digit = int(digit)
                reason = "not_a_digit" if refused else "uncertain" if unsure else None
                results[i] = Prediction(names[i], digit, round(float(p[digit]), 6),
                                        [round(float(v), 6) for v in p[:NOT_A_DIGIT]], bool(refused or unsure), reason,
                                        not_a_digit=round(float(p[NOT_A_DIGIT]), 6) if self.knows_not_a_digit else None)
        return results

    def predict_files(self, paths: list[str | Path]) -> list[Prediction]:
        """Read, preprocess and classify each file; a file that fails gets an error entry, the rest go on."""
        from ..imageio import read_images

        return self.predict_images([(str(path), image, error) for path, image, error in read_images(paths)])

    def predict_images(self, decoded: list[tuple[str, np.ndarray | None, Exception | None]]) -> list[Prediction]:
        """Preprocess and classify decoded images, (name, image, None) each, in one batch; one that could not be
        decoded, (name, None, error), gets an error entry in its place."""
        from ..preprocess import to_mnist

        results: list[Prediction | None] = []
        digits, where = [], []
        for name, image, error in decoded:
            if error is not None:
                results.append(Prediction(name, None, None, None, True, "error", str(error)))
                continue
            where.append(len(results))
            results.append(None)
            digits.append(to_mnist(image))
        if digits:
            for slot, answer in zip(where, self.classify(np.stack(digits), [decoded[i][0] for i in where]),
                                    strict=True):
                results[slot] = answer
        return results


def load(name_or_path: str | Path | None = None, mc_samples: int = 0, decision: str | None = None,
         cost: str | None = None, backend: str = "auto") -> DigitClassifier:
    """Load a bundled model by name ('default') or a saved model by path; ``mc_samples`` > 0 turns on
    MC dropout at prediction; ``decision`` / ``cost`` override the decision rule saved in its card;
    ``backend`` computes the logits: torch, onnxruntime, or auto (onnxruntime on a CPU when installed)."""
    return DigitClassifier.load(name_or_path, mc_samples=mc_samples, decision=decision, cost=cost, backend=backend)

"""The Reader: a whole number from an image, with a box and a confidence for every digit.

    reader = digitscope.Reader()              # the bundled default classifier
    reader.read(image)                        # uint8 (H, W) or (H, W, 3), any polarity or colours
    -> Reading(text="4217", confidence=0.998, rejected=False, reason=None,
               digits=[DigitBox(digit=4, box=[x0, y0, x1, y1], confidence=0.9996, probabilities=[...]), ...])
    reading.to_dict()                         # the same as JSON: `digitscope read --json`, the HTTP API

How: the ink map of the one preprocessing path (``preprocess.ink_map``, once rules are painted over and
the lighting levelled: ``scene``), atoms and candidate digits (``segment``), all the candidates made
MNIST-style in one call (``preprocess.ink_to_mnist_batch``, the same digits as ``preprocess.to_mnist`` of each) and
scored by the digit classifier in one batched call, each score weighed by how
likely the candidate's shape is one whole digit (``prior``), then the best path through the cut graph on
combined log-probability (``path.best_path``). A box is (x0, y0, x1, y1) in the image's pixels, x1 and y1
exclusive, tight around the digit's ink.

Confidence of the number: the product of its digits' confidences, the probability that every digit is
right if the segmentation is and the digits' errors are independent. The reading is refused
(``rejected``, with the best text still given) when the classifier's own reject rule refuses a digit of
the best path (reason ``uncertain``), the path leaves a digit's worth of ink unread (``uncertain``), or
``expect_length`` cannot be met; when most of the digits are refused (at least two), or there is nothing
digit-like on the page, the reason is ``not_a_digit``. ``Reader(max_risk=r)`` refuses by the number's own
confidence instead of its digits', at the threshold fitted for risk r (``risk``). How it cuts and what it
leaves unread: ``Reader(config=SegmentConfig(...))`` (``segment.SegmentConfig``; default: the classifier's card's,
else the defaults).

With a line reader (``Reader(line_model="amounts")``, ``models.linenet``), a network that reads the whole line
without cutting it also reads the page's ink. Its text and the path's compete by the sum of both readers'
log-probabilities, the boxes are those of the best path through the cuts that reads the winning text, the number's
confidence is the geometric mean of the two readers' probabilities of it, and the line reader's own reject rule
(fitted for the pair on real amounts) decides: a line reader reads what cutting cannot (a cursive "00", digits
joined to the paper's pattern), and the cuts give it boxes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..imageio import MAX_PIXELS, ImageError, ImageTooLargeError
from ..labels import NOT_A_DIGIT
from ..preprocess import MIN_INK_MASS, ink_to_line, ink_to_mnist_batch
from .marks import NONE, SEPARATORS, TALL, beside_the_number
from .path import best_path
from .scene import page_ink
from .segment import Atoms, SegmentConfig, Spans, candidate_spans, find_atoms, render_span

if TYPE_CHECKING:  # imported when a Reader is made, so that fitting a prior (reading.fitting) can import the reader
    from .prior import SegmentPrior

MIN_SIDE = 8  # fewer pixels than this across cannot show a digit
# How much the segmentation prior's log-odds count against the classifier's log-probabilities, for a classifier
# that has only seen digits alone. Chosen on strings of mnist:val digits: 0.1-0.25 read equally well; from 0.5
# up, shape starts to overrule clear readings. A classifier trained on the Reader's own candidates (the bundled
# `reading` model, trained on mnist-candidates) already knows a mis-cut when it sees one: its card says how much
# prior it still needs (``reading.prior_weight``: none).
PRIOR_WEIGHT = 0.1
DIGITS = "0123456789"


def _check(image: np.ndarray, name: str) -> np.ndarray:
    """Validate shape and type; (H, W, 1) -> (H, W). Errors start with `name`, like imageio's."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"{name}: expected uint8 pixels (0-255), got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ImageError(f"{name}: expected an (H, W) grey or (H, W, 3) RGB array, got shape {image.shape}")
    h, w = image.shape[:2]
    if h * w > MAX_PIXELS:
        raise ImageTooLargeError(f"{name}: {w}x{h} pixels is over the limit of {MAX_PIXELS:,} pixels")
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{name}: {w}x{h} pixels is too small to hold a number; "
                         f"the Reader needs at least {MIN_SIDE}x{MIN_SIDE}")
    return image


@dataclass
class DigitBox:
    """One digit of a reading: the digit, its box (x0, y0, x1, y1) in the image's pixels, and its probability."""

    digit: int
    box: list[int]
    confidence: float
    probabilities: list[float]  # of each digit 0-9 for this box (the page's top-3 bars)

    def to_dict(self) -> dict:
        return {"digit": self.digit, "box": self.box, "confidence": self.confidence,
                "probabilities": self.probabilities}


@dataclass
class Reading:
    """What ``Reader.read`` answers. With ``rejected`` the text is still the best reading, for people to see;
    ``reason``: ``uncertain`` or ``not_a_digit`` when rejected, else None. ``confidence``: None when no digit
    was found. ``text`` is the digits alone; ``text_with_separators`` the same with the thousands separators
    (``.`` or ``,``) the Reader saw between them, as written (``1.990`` for ``1990``): for people to check an
    amount against, never to parse."""

    text: str
    confidence: float | None
    rejected: bool
    reason: str | None
    digits: list[DigitBox] = field(default_factory=list)
    text_with_separators: str | None = None  # None: the text itself (no separator seen)

    def __post_init__(self) -> None:
        if self.text_with_separators is None:
            self.text_with_separators = self.text

    def to_dict(self) -> dict:
        """As JSON has it (``digitscope read --json``, the HTTP API's /v1/read)."""
        return {"text": self.text, "confidence": self.confidence, "rejected": self.rejected, "reason": self.reason,
                "digits": [d.to_dict() for d in self.digits], "text_with_separators": self.text_with_separators}



@dataclass
class Prepared:
    """An image made ready for the classifier: everything the Reader needs but the classifier's scores.
    Small and picklable, so the segmentation can run in other processes than the model."""

    shape: tuple[int, int]  # (H, W) of the image, for the boxes
    found: tuple[Atoms, Spans, np.ndarray, int] | None  # `candidates(...)`, without the atoms' pixel labels
    line: np.ndarray | None = None  # the page's ink as a line reader takes it (``preprocess.ink_to_line``)


def prepare(image: np.ndarray, name: str = "image", config: SegmentConfig = SegmentConfig()) -> Prepared:
    """Check an image and find its candidate digits as `config` cuts them (the Reader's ``config``). Raises
    ImageError like `Reader.read`."""
    image = _check(image, name)
    ink, factor = page_ink(image, config.work_pixels)
    found = _cut(ink, config)
    if found is None:
        return Prepared(image.shape[:2], None)
    atoms, spans, canonical = found
    # The decision needs only the atoms' boxes and ink: dropping the (H, W) label map keeps what crosses a
    # process boundary or waits in a queue small.
    atoms = replace(atoms, labels=np.empty((0, 0), np.int32))
    return Prepared(image.shape[:2], (atoms, spans, canonical, factor), ink_to_line(ink))


class Reader:
    """Reads a whole number from an image with a digit classifier (default: ``digitscope.load("reading")``, the
    bundled model trained on the Reader's own candidates as well as on MNIST).

    The classifier has 10 classes, or 11 where class 10 means "not a digit"; either way its reject rule
    (``is_uncertain``) decides when a digit is too unsure to stand."""

    def __init__(self, classifier=None, prior: SegmentPrior | None = None, max_risk: float | None = None,
                 config: SegmentConfig | None = None, line_model=None):
        if classifier is None:
            from ..inference.classifier import load

            classifier = load("reading")
        if classifier.num_classes not in (10, 11):
            raise ValueError(f"the Reader needs a 10-class digit classifier, or 11 classes with class 10 "
                             f"'not a digit'; this one has {classifier.num_classes}")
        self.classifier = classifier
        self.prior_weight = float(classifier.card.reading.get("prior_weight", PRIOR_WEIGHT))
        # How it cuts: as asked, else as the classifier was trained to read (its card), else the defaults.
        self.config = config if config is not None else SegmentConfig.from_card(classifier.card)
        if prior is None:
            from .prior import SegmentPrior

            prior = SegmentPrior.load()
        self.prior = prior
        # A line reader (a name or path, or a loaded linenet): its opinion of the whole line joins the choice of
        # the reading (``_choose_text``) and the number's confidence.
        self.line_card = None
        if isinstance(line_model, (str, Path)):
            from ..store.bundled import resolve_model_path
            from .line_model import line_backend, load_line_model

            network, self.line_card = load_line_model(line_model)
            line_model = line_backend(network, resolve_model_path(line_model))
        self.line_model = line_model  # a backend (``line_model.line_backend``) or a line reader's network
        # max_risk: the number's own reject rule (``risk``) instead of its digits'; None: refuse a number when
        # the classifier's rule refuses one of its digits. With a line reader, the rule fitted for the pair on
        # real amounts (in the line reader's card), at the risk asked or else at the one it was fitted for.
        self.number_threshold = None
        line_rule = self.line_card is not None and "number_reject" in self.line_card.reading
        if max_risk is not None or line_rule:
            self.number_threshold = self._threshold(max_risk)

    def at_risk(self, max_risk: float) -> Reader:
        """This Reader refusing by the number's rule at another risk: the same models, nothing loaded again (a
        server makes one per request that asks for a risk)."""
        chosen = copy.copy(self)
        chosen.number_threshold = self._threshold(max_risk)
        return chosen

    def _threshold(self, max_risk: float | None) -> float:
        """The number confidence below which a number is refused, by the rule that belongs to this Reader's
        confidence: the line reader's (at its default risk when max_risk is None), else the classifier's."""
        from .risk import line_rule_of, rule_of, threshold_for

        if self.line_model is None:
            return threshold_for(rule_of(self.classifier), max_risk)
        if self.line_card is None or "number_reject" not in self.line_card.reading:
            # Its confidence is the two readers' together: the classifier's own rule does not apply to it.
            raise ValueError("this line reader's card has no reject rule for whole numbers: fit one with "
                             "`digitscope fit number-risk --model MODEL --line-model LINE_MODEL --out DIR`")
        rule = line_rule_of(self.line_card, self.classifier)
        return threshold_for(rule, rule["default_risk"] if max_risk is None else max_risk)

    def read(self, image: np.ndarray, expect_length: int | None = None, charset: str | None = None) -> Reading:
        """Read the number in `image`, uint8 (H, W) or (H, W, 3). `expect_length`: the number has exactly this
        many digits; `charset`: the digits it may contain (e.g. "01"). Raises ImageError (ImageTooLargeError
        over MAX_PIXELS) for an array that cannot hold a number."""
        return self._read(image, expect_length, charset, "image")

    def read_prepared(self, batch: list[Prepared], expect_length: int | None = None,
                      charset: str | None = None) -> list[Reading]:
        """Read many prepared images (`prepare`) with one classifier call over all their candidates: the
        batched half of `read`, for batch jobs that segment in other processes."""
        allowed = _arguments(expect_length, charset)
        found = [p.found for p in batch if p.found is not None]
        lines = None  # the line reader's log-probabilities, one (MEMBERS, COLUMNS, 11) per image with ink
        if found:
            probs = self.classifier.predict_proba(np.concatenate([f[2] for f in found]))  # (sum of E, K)
            ends = np.cumsum([len(f[1]) for f in found])
            per_image = iter(np.split(probs, ends[:-1]))
            lines = (iter(_line_log_probs(self.line_model, np.stack([p.line for p in batch if p.found is not None])))
                     if self.line_model is not None else None)
        results = []
        for p in batch:
            if p.found is None:
                results.append(Reading("", None, True, "not_a_digit"))
                continue
            atoms, spans, _, factor = p.found
            results.append(self._decide(atoms, spans, next(per_image), allowed, expect_length, p.shape, factor,
                                        None if lines is None else next(lines)))
        return results

    def _read(self, image: np.ndarray, expect_length: int | None, charset: str | None, name: str) -> Reading:
        _arguments(expect_length, charset)  # bad arguments fail before the image is looked at
        return self.read_prepared([prepare(image, name, self.config)], expect_length, charset)[0]

    def _decide(self, atoms: Atoms, spans: Spans, probs: np.ndarray, allowed: np.ndarray,
                expect_length: int | None, shape: tuple[int, int], factor: int,
                line: np.ndarray | None = None) -> Reading:
        """The best path through the candidates, and the answer it gives; boxes in the pixels of the image
        of size `shape` (H, W), `factor` times the working resolution."""
        with np.errstate(divide="ignore"):
            # Each candidate as each digit: the classifier's log-probability that it is that digit, plus the
            # log-odds that a span of its shape is that whole digit (the segmentation prior). Odds, not
            # probabilities: a segmentation claims its spans are whole and every other candidate is not, so
            # its probability is a constant times the product of its spans' odds, whatever their number.
            digit_logp = np.log(probs[:, :10])  # (E, 10)
            if self.prior_weight:
                digit_logp = digit_logp + self.prior_weight * self.prior.log_odds(spans.shape)
        digit_logp = np.where(allowed[None, :], digit_logp, -np.inf)
        best_digit = digit_logp.argmax(axis=1)
        n, e = len(atoms), len(spans)
        # Edges: each candidate read as its best allowed digit; each atom read as nothing (skipped, at a
        # cost that grows with its ink). With an 11-class model a candidate's digit probabilities already carry
        # its doubt that it is a digit at all (they sum to 1 - p(not a digit)); "not a digit" is no edge of its
        # own: on house-number scenes its detector doubts many true digits, and as an edge it dropped them
        # (exact strings 94% -> 73% on scenes, 95% -> 90% on handwritten strings, 150 each).
        tall = (atoms.boxes[:, 3] - atoms.boxes[:, 1]) >= TALL * atoms.line_height
        reference = float(np.median(atoms.mass[tall])) if tall.any() else float(atoms.mass.max())
        # A separator, dash or underline (``marks``) is read as nothing, at no cost: it is no digit left unread.
        mark = atoms.mark != NONE
        skip = np.where(mark, 0.0, self.config.skip_cost * np.minimum(1.0, atoms.mass / reference))
        starts = [spans.index[:, 0], np.arange(n)]
        ends = [spans.index[:, 1], np.arange(1, n + 1)]
        scores = [digit_logp[np.arange(e), best_digit], skip]
        is_digit = [np.ones(e, bool), np.zeros(n, bool)]
        starts, ends, scores, is_digit = map(np.concatenate, (starts, ends, scores, is_digit))

        path = best_path(n, starts, ends, scores, is_digit, expect_length)
        length_missed = path is None
        if length_missed:
            path = best_path(n, starts, ends, scores, is_digit)
        answers = np.concatenate([best_digit, np.zeros(n, np.int64)])  # each edge's digit (skips: unused)
        line_logp = None
        if line is not None:
            graph = (n, starts, ends, is_digit, np.concatenate([digit_logp, np.repeat(skip[:, None], 10, 1)]))
            path, answers, line_logp = self._choose_text(graph, path, answers, line, allowed, expect_length)
        chosen = [e for e in path if is_digit[e]]  # edges < len(spans) are the digit readings
        skipped = [starts[e] for e in path if not is_digit[e]]  # a skip edge starts at its atom
        if not chosen:
            return Reading("", None, True, "not_a_digit")
        # Marks are not digits left unread: those told by their shape before the reading (``mark``), and short ink
        # beside the number read, a leading or trailing mark however it was drawn.
        beside = beside_the_number(atoms.boxes, spans.boxes[chosen], atoms.line_height)
        skipped = [a for a in skipped if not mark[a] and not beside[a]]
        digit_left_unread = bool((atoms.mass[skipped] >= self.config.unread_ink * reference).any())

        rows = probs[chosen]  # (L, K)
        answers = answers[chosen]
        confidences = rows[np.arange(len(chosen)), answers]
        # A digit stands when the classifier's reject rule accepts it and nothing else (another digit, a
        # digit outside the charset, "not a digit") is more probable.
        likeliest = rows.argmax(axis=1)  # a digit, or NOT_A_DIGIT from an 11-class model
        outranked = likeliest != answers
        # With a line reader the two readers' joint confidence alone decides: the line reader may overrule which
        # digit the classifier reads, and whether a cut of a real amount is a digit at all (the classifier's "not
        # a digit" refused many amounts of ORAND's choose side that both readers read right).
        overruled = outranked if line_logp is None else np.zeros(len(chosen), bool)
        unsure = self.classifier.is_uncertain(rows) | outranked
        h, w = shape
        digits = []
        for e, digit, confidence in zip(chosen, answers, confidences, strict=True):
            x0, y0, x1, y1 = spans.boxes[e] * factor
            box = [int(x0), int(y0), int(min(x1, w)), int(min(y1, h))]
            digits.append(DigitBox(int(digit), box, round(float(confidence), 6),
                                   [round(float(v), 6) for v in probs[e, :10]]))
        text = "".join(str(d.digit) for d in digits)
        formatted = _with_separators(atoms, spans.boxes[chosen], answers)
        confidence = float(np.prod(confidences))
        if line_logp is not None:  # two readers' probability of the same text: their geometric mean
            confidence = float(np.sqrt(confidence * np.exp(line_logp)))
        if self.number_threshold is None:
            doubtful = bool(unsure.any())
        else:  # the number's rule; "not a digit" or a digit outside the charset more probable still refuses
            doubtful = confidence < self.number_threshold or bool(overruled.any())
        rejected = doubtful or length_missed or digit_left_unread
        # No number at all, not a number with a doubtful digit: mostly doubtful readings (a row of letters), or
        # mostly readings the classifier itself calls "not a digit" (one scribble, kept whole, is one such reading).
        no_number = (unsure.sum() >= max(2, len(unsure) // 2 + 1)
                     or 2 * (likeliest == NOT_A_DIGIT).sum() > len(rows))
        reason = ("not_a_digit" if no_number else "uncertain") if rejected else None
        return Reading(text, round(confidence, 6), rejected, reason, digits, formatted)


    @staticmethod
    def _choose_text(graph: tuple, path: list[int], answers: np.ndarray, line: np.ndarray, allowed: np.ndarray,
                     expect_length: int | None) -> tuple[list[int], np.ndarray, float]:
        """With a line reader: the segmentation's best reading and the line reader's own each get the cut graph's
        best path that reads exactly that text, and the text whose path's log-probability plus the line reader's
        log-probability of it is higher wins (two readers' independent evidence, multiplied). A text no path can
        read (more digits than pieces of ink) loses. The segmentation's best path is already the best path reading
        its own text, so only a different text of the line reader's costs a search.
        graph: (atoms, starts, ends, is_digit, (edges, 10) log-probability of each edge as each digit, a skip's
        own score in every column). Returns the path, each edge's digit and the line reader's log-probability of
        the text read."""
        from .line_model import line_text

        n, starts, ends, is_digit, edge_logp = graph
        # A digit outside the charset: all but impossible (not -inf, which the CTC sums would turn into NaN).
        line = np.where(np.append(allowed, True)[None, :], line, -1e4)
        own = answers[path][is_digit[path]]
        segmented = "".join(str(d) for d in own)
        read, line_scores = line_text(line, also=(segmented,))
        best = (path, answers, line_scores[segmented])
        if read == segmented or not read or (expect_length is not None and len(read) != expect_length):
            return best
        digits = np.array([int(c) for c in read])
        found = best_path(n, starts, ends, edge_logp[:, digits], is_digit, len(digits))
        if found is None:
            return best

        def path_score(edges: list[int], text: np.ndarray) -> float:
            position = np.cumsum(is_digit[edges]) - 1  # each digit edge's place in the text
            return float(sum(edge_logp[e, text[k]] if is_digit[e] else edge_logp[e, 0]
                             for e, k in zip(edges, position, strict=True)))

        if line_scores[read] + path_score(found, digits) <= line_scores[segmented] + path_score(path, own):
            return best
        edge_digits = answers.copy()
        edge_digits[[e for e in found if is_digit[e]]] = digits
        return found, edge_digits, line_scores[read]


def _line_log_probs(model, lines: np.ndarray) -> np.ndarray:
    from .line_model import line_log_probs  # torch: imported only by a Reader that has a line reader

    return line_log_probs(model, lines)


def candidates(image: np.ndarray, config: SegmentConfig = SegmentConfig()
               ) -> tuple[Atoms, Spans, np.ndarray, int] | None:
    """The candidate digits of a checked image as `config` cuts them: its atoms, the spans of atoms that could be
    digits, each span as an MNIST-style digit (E, 28, 28) uint8, and the factor from the working resolution to
    the image's pixels. None when the image holds no ink."""
    ink, factor = page_ink(image, config.work_pixels)
    found = _cut(ink, config)
    return None if found is None else (*found, factor)


def _cut(ink: np.ndarray, config: SegmentConfig) -> tuple[Atoms, Spans, np.ndarray] | None:
    """`candidates` of a page's ink map."""
    if float(ink.sum()) < MIN_INK_MASS:
        return None
    atoms = find_atoms(ink, config)
    spans = candidate_spans(atoms, config)
    if len(spans) == 0:
        return None
    canonical = ink_to_mnist_batch([render_span(ink, atoms, span, box)
                                    for span, box in zip(spans.index, spans.boxes, strict=True)])
    return atoms, spans, canonical


def _with_separators(atoms: Atoms, boxes: np.ndarray, answers: np.ndarray) -> str:
    """The digits read (their boxes (L, 4), left to right) with the separators whose centre lies between two of
    their centres: a separator before the first digit or after the last is no thousands separator."""
    centres = (boxes[:, 0] + boxes[:, 2]) / 2
    found = np.flatnonzero(np.isin(atoms.mark, list(SEPARATORS)))
    at = (atoms.boxes[found, 0] + atoms.boxes[found, 2]) / 2
    out = []
    for k, digit in enumerate(answers):
        if k:
            between = found[(at > centres[k - 1]) & (at < centres[k])]
            out += [SEPARATORS[atoms.mark[a]] for a in between[np.argsort(atoms.boxes[between, 0])]]
        out.append(str(digit))
    return "".join(out)


def _arguments(expect_length: int | None, charset: str | None) -> np.ndarray:
    """Validate the reading's options; returns the (10,) mask of allowed digits."""
    if expect_length is not None and not 1 <= expect_length <= 100:
        raise ValueError(f"expect_length must be between 1 and 100, got {expect_length}")
    return _allowed(charset)


def _allowed(charset: str | None) -> np.ndarray:
    """(10,) bool mask of the digits a charset allows."""
    if charset is None:
        return np.ones(10, bool)
    if not charset or any(c not in DIGITS for c in charset):
        raise ValueError(f"charset must be a non-empty string of the digits 0-9, got {charset!r}")
    return np.array([d in charset for d in DIGITS])

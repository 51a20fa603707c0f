"""Ink -> atoms -> candidate digits: over-segmentation of a row of handwriting.

An atom is a piece of ink no digit is expected to straddle: a connected component, or a part of a wide
component (touching digits) between two candidate cuts. A cut is a seam, the top-to-bottom path through
the component that crosses the least ink (it runs through the paper between touching digits and crosses
only where they meet), and cuts are placed generously, because a wrong cut costs little: the path search
can read the atoms on both sides as one digit again. A candidate digit is a span of consecutive atoms (a
digit broken in two, a touching pair cut apart) whose size fits a digit of the row; the best path through
the candidates decides (``path.best_path``).

Sizes are relative to the row's line height (the height of its tallest heavy piece of ink), and widths are
measured along the writing's slant, so the rules hold from 28-pixel MNIST sequences to slanted handwriting
and phone photos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .marks import NONE, find_marks
from .marks import line_height as _line_height

if TYPE_CHECKING:
    from ..store.card import ModelCard


@dataclass(frozen=True)
class SegmentConfig:
    """How the Reader cuts a row of ink into candidate digits and weighs what it leaves unread. Sizes are in line
    heights. A model trained on the Reader's own candidates learnt them as these settings cut them, so a reading
    model's card may carry its own (``reading.segment``, ``from_card``); otherwise these defaults."""

    # --- the line height: the height of the tallest heavy component (a detached bar of a 5 is not one)
    heavy_component: float = 0.5  # of the heaviest component's ink mass

    # --- cuts into touching digits
    # Components wider than this may hold more than one digit. Two touching MNIST digits can be as narrow as 0.9
    # (an 8 leaning on a 7); chosen on mnist:val strings among 1.0, 0.85, 0.75, 0.65 (benchmarks/LOG.md).
    cut_width: float = 0.75
    cut_margin: float = 0.2  # no cut closer than this to either end of a component: the slivers would be no digit
    cut_spacing: float = 0.15  # nor closer than this to another cut
    cuts_per_height: float = 3.0  # at most this many cuts per line height of component width
    # Cost of a cut's step aside, against 1 per pixel of full-strength ink it crosses. A cheap step lets the seam
    # wander round a stroke into the next digit (a 7's bar given to the 0 it touches); chosen on mnist:val strings
    # among 0.02, 0.1, 0.3 and 1 (benchmarks/LOG.md): 0.3 reads 6-10-digit strings at 96.3% against 93.8% for 0.02.
    seam_drift: float = 0.3

    # --- the writing's slant: shears tried, dx per dy, in steps of slant_step
    max_slant: float = 0.5
    slant_step: float = 0.1

    # --- which spans of atoms are candidate digits
    max_atoms: int = 5  # atoms per digit at most (a 5 with a lifted bar and a cut body has 5)
    max_width: float = 1.4  # a digit is at most this wide (slanted MNIST digits reach ~1.3)
    min_height: float = 0.35  # a digit is at least this tall (a fragment shorter than this is only part of one)
    max_gap: float = 0.35  # the pieces of one digit are never further apart than this

    # --- the Reader's path through the candidates (``reader``)
    # Large images are read at a resolution of at most this many pixels (area-averaged): a digit string needs far
    # fewer, and the segmentation's cost grows with the pixel count.
    work_pixels: int = 2_000_000
    # Reading nothing where an atom is costs this log-probability per line-height-sized atom of ink: a digit is
    # dropped only when every reading of it is less likely than e^-12; a speck costs almost nothing.
    skip_cost: float = -12.0
    # ... but a reading that leaves this much of a digit's ink unread (a share of the typical digit's mass) is
    # refused: a number with a digit dropped is the worst answer it can give. On strings of mnist:val digits 0.2-0.4
    # refuse the same three readings that had dropped a digit and no right one, 0.6 lets one of them through
    # (benchmarks/LOG.md).
    unread_ink: float = 0.4

    @classmethod
    def from_card(cls, card: ModelCard) -> SegmentConfig:
        """The settings a model's card gives the Reader (``reading.segment``), the defaults for any it leaves out."""
        return cls(**card.reading.get("segment", {}))

    def to_dict(self) -> dict:
        """As a card's ``reading.segment`` holds it."""
        return asdict(self)


@dataclass
class Atoms:
    labels: np.ndarray  # (H, W) int32: 0 paper, a + 1 for atom a; atoms numbered left to right, marks last
    boxes: np.ndarray  # (n, 4) int64: x0, y0, x1, y1 (exclusive)
    extent: np.ndarray  # (n, 2) float64: left and right edge along the slant (x + slant * (y - centre))
    cut_ink: np.ndarray  # (n, 2) float64: ink crossed by the cut on its left / right, in line heights; NaN: no cut
    mass: np.ndarray  # (n,) float64 ink mass
    component: np.ndarray  # (n,) int64: the connected component each atom is (a piece of)
    line_height: float  # pixels
    slant: float  # dx per dy of the writing's strokes
    mark: np.ndarray  # (n,) int8: ``marks`` code of the atom's component; NONE (0) for ink that may be a digit

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass
class Spans:
    """Candidate digits: atoms index[e, 0]..index[e, 1]-1 together, and their shape."""

    index: np.ndarray  # (E, 2) int64 start, end
    boxes: np.ndarray  # (E, 4) int64 union boxes
    shape: np.ndarray  # (E, len(SHAPE)) float64, see SHAPE

    def __len__(self) -> int:
        return len(self.index)


# What a span's shape is described by, sizes in line heights: its width along the slant and height; the
# widest paper gap between its atoms; how many atoms; and the ink crossed by the cut on its left and right
# (0 where it begins or ends a component).
SHAPE = ("width", "height", "gap", "atoms", "cut_left", "cut_right")


def _boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) boxes of labels 1..count, from ndimage.find_objects."""
    slices = ndimage.find_objects(labels, count)
    return np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in slices], np.int64).reshape(-1, 4)


def _slant(ys: np.ndarray, xs: np.ndarray, weights: np.ndarray, config: SegmentConfig) -> float:
    """The shear (dx per dy) that makes the strokes most vertical: the one whose vertical projection is the
    most peaked (largest sum of squares), the classic deslanting criterion."""
    shears = np.arange(-config.max_slant, config.max_slant + 1e-9, config.slant_step)  # (S,)
    yc = ys.mean()
    sheared = np.round(xs[None, :] + shears[:, None] * (ys[None, :] - yc)).astype(np.int64)  # (S, P)
    sheared -= sheared.min()
    width = int(sheared.max()) + 1
    # One bincount for all shears: offset each shear's bins by its row.
    profiles = np.bincount((sheared + width * np.arange(len(shears))[:, None]).ravel(),
                           weights=np.broadcast_to(weights, sheared.shape).ravel(),
                           minlength=width * len(shears)).reshape(len(shears), width)
    return float(shears[np.argmax((profiles ** 2).sum(axis=1))])


def _group_extent(values: np.ndarray, groups: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(count,) the smallest and the largest of `values` (P,) in each group 0..count-1 of `groups` (P,): ufunc.at,
    several times faster than ndimage.minimum / maximum on a few thousand pixels."""
    low, high = np.full(count, np.inf), np.full(count, -np.inf)
    np.minimum.at(low, groups, values)
    np.maximum.at(high, groups, values)
    return low, high


def _seams(ink: np.ndarray, drift: float) -> tuple[np.ndarray, np.ndarray]:
    """Every top-to-bottom path through one component's ink (H, W), each the cheapest ending at its bottom
    column: a step goes down one row and at most one column aside, and costs the ink it enters plus
    `drift` per column aside. Between two touching digits the cheapest path runs through paper and
    crosses the ink only where they touch, however their strokes lie side by side or curl round (a vertical
    cut there would cut a stroke along its length). Returns (W, H) columns of each path and (W,) the ink
    each crosses (in pixels of full-strength ink)."""
    h, w = ink.shape
    cost = ink / 255.0
    total = cost[0].astype(np.float64)  # (W,) cheapest path cost to each column of the current row (float64: the
    # buffers below keep its type, and float32 sums would break ties between paths differently)
    from_left, from_right = np.zeros((h, w), bool), np.zeros((h, w), bool)  # where each row's path came from
    padded = np.full(w + 2, np.inf)  # the row's costs with a wall either side
    left, right, ahead = np.empty(w), np.empty(w), np.empty(w)
    for y in range(1, h):  # a few thousand small steps per image: every one writes into a buffer, none allocates
        padded[1:-1] = total
        np.add(padded[:-2], drift, out=left)
        np.add(padded[2:], drift, out=right)
        # The first of (left, straight on, right) that is cheapest; one row at a time, so no (3, W) stack.
        np.minimum(total, right, out=ahead)
        np.less_equal(left, ahead, out=from_left[y])
        np.less(right, total, out=from_right[y])
        np.minimum(left, ahead, out=total)
        total += cost[y]
    moves = np.where(from_left, -1, from_right.astype(np.int8)).astype(np.int8)  # (H, W) -1, 0, +1
    paths = np.empty((w, h), np.int64)
    paths[:, -1] = np.arange(w)
    for y in range(h - 1, 0, -1):
        paths[:, y - 1] = paths[:, y] + moves[y, paths[:, y]]
    crossed = cost[np.arange(h)[None, :], paths].sum(axis=1)
    return paths, crossed


def _cuts(ink: np.ndarray, line_height: float, config: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cuts across one wide component (its ink (H, W), zero off the component): the seams that cross the
    least ink, at least ``cut_spacing`` apart and ``cut_margin`` from either end. Returns (K, H) columns of each
    cut, left to right, and (K,) the ink each crosses."""
    paths, crossed = _seams(ink, config.seam_drift)
    h, w = ink.shape
    centre = paths.mean(axis=1)  # (W,) where each seam runs, on average
    columns = np.flatnonzero(ink.any(axis=0))
    margin, spacing = config.cut_margin * line_height, config.cut_spacing * line_height
    inner = (centre >= columns[0] + margin) & (centre <= columns[-1] - margin)
    limit = max(1, int(config.cuts_per_height * len(columns) / line_height))
    chosen: list[int] = []
    for x in np.flatnonzero(inner)[np.argsort(crossed[inner], kind="stable")]:
        if all(abs(centre[x] - centre[c]) >= spacing for c in chosen):
            chosen.append(int(x))
            if len(chosen) == limit:
                break
    chosen = sorted(chosen, key=lambda c: centre[c])
    return paths[chosen], crossed[chosen]


def find_atoms(ink: np.ndarray, config: SegmentConfig = SegmentConfig()) -> Atoms:
    """(H, W) float ink map (0 = paper, bright ink) -> atoms, left to right."""
    components, count = ndimage.label(ink > 0, structure=np.ones((3, 3), bool))
    if count == 0:
        return Atoms(np.zeros(ink.shape, np.int32), np.zeros((0, 4), np.int64), np.zeros((0, 2)), np.zeros((0, 2)),
                     np.zeros(0), np.zeros(0, np.int64), 0.0, 0.0, np.zeros(0, np.int8))
    ys, xs = np.nonzero(components)  # every inked pixel, (P,)
    comp = components[ys, xs] - 1  # (P,) component of each pixel
    weights = ink[ys, xs].astype(np.float64)
    boxes = _boxes(components, count)
    mass = np.bincount(comp, weights=weights, minlength=count)

    line_height = _line_height(boxes, mass, config.heavy_component)
    # Separators, dashes and underlines (``marks``): never cut, never part of a candidate digit.
    marks = find_marks(boxes, line_height, config.min_height)
    # Geometry along the slant: upright digits side by side, whatever the writer's slant.
    slant = _slant(ys, xs, weights, config)
    along = xs + slant * (ys - ys.mean())  # (P,)

    # Pieces: 0 for an uncut component; for a cut one, the number of cuts to the pixel's left.
    piece = np.zeros(len(ys), np.int64)
    low, high = _group_extent(along, comp, count)
    width = high - low + 1  # (count,)
    crossings = {}  # component -> (K,) ink crossed by each of its cuts
    for c in np.flatnonzero((width > config.cut_width * line_height) & (marks == NONE)):
        x0, y0, x1, y1 = boxes[c]
        own = np.where(components[y0:y1, x0:x1] == c + 1, ink[y0:y1, x0:x1], 0)
        cuts, crossings[c] = _cuts(own, line_height, config)  # (K, rows) columns of each cut
        sel = np.flatnonzero(comp == c)
        piece[sel] = (xs[sel][None, :] - x0 >= cuts[:, ys[sel] - y0]).sum(axis=0)

    stride = ink.shape[1] + 1
    keys, atom = np.unique(comp * stride + piece, return_inverse=True)  # one key per (component, piece)
    n = len(keys)
    # The ink a piece's left and right cuts cross, in line heights; NaN where the piece ends the component.
    cut_ink = np.full((n, 2), np.nan)
    for k, (c, p) in enumerate(zip(keys // stride, keys % stride, strict=True)):
        if c in crossings:
            cut_ink[k] = [crossings[c][p - 1] if p > 0 else np.nan,
                          crossings[c][p] if p < len(crossings[c]) else np.nan]
    cut_ink /= line_height
    atom_mass = np.bincount(atom, weights=weights, minlength=n)
    centre = np.bincount(atom, weights=weights * along, minlength=n) / atom_mass
    # Left to right, the marks after all the rest: a span is a run of consecutive atoms, and an underline's centre
    # lies among the digits it underlines, where it would break every run across it.
    order = np.lexsort((centre, marks[keys // stride] != NONE))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    atom = rank[atom]
    labels = np.zeros(ink.shape, np.int32)
    labels[ys, xs] = atom + 1
    low, high = _group_extent(along, atom, n)
    extent = np.stack([low, high + 1], 1)
    return Atoms(labels, _boxes(labels, n), extent, cut_ink[order], np.bincount(atom, weights=weights, minlength=n),
                 (keys // stride)[order], line_height, slant, marks[(keys // stride)[order]])


def candidate_spans(atoms: Atoms, config: SegmentConfig = SegmentConfig()) -> Spans:
    """Spans of consecutive atoms that could together be one digit: not too many atoms, not too wide, not
    too short, no wide gap inside. And every cut component whole, whatever its width and pieces: cuts are placed
    generously because the path can join the pieces again, so the uncut reading must stay a candidate (a flat
    MNIST 2 alone on its row is 1.7 line heights wide, and its seams cut it in four)."""
    h = atoms.line_height
    cut_ink = np.nan_to_num(atoms.cut_ink)
    index, boxes, shape = [], [], []

    def add(i: int, j: int, box: tuple, left: float, right: float, widest_gap: float) -> None:
        x0, y0, x1, y1 = box
        index.append((i, j))
        boxes.append(box)
        shape.append(((right - left) / h, (y1 - y0) / h, max(widest_gap, 0.0) / h, j - i,
                      cut_ink[i, 0], cut_ink[j - 1, 1]))

    for i in range(len(atoms)):
        if atoms.mark[i] != NONE:
            continue
        x0, y0, x1, y1 = atoms.boxes[i]
        left, right = atoms.extent[i]
        widest_gap = 0.0
        for j in range(i + 1, min(len(atoms), i + config.max_atoms) + 1):
            if j > i + 1:
                if atoms.mark[j - 1] != NONE:  # the marks come last: no digit goes on into them
                    break
                widest_gap = max(widest_gap, atoms.extent[j - 1, 0] - right)
                if widest_gap > config.max_gap * h:
                    break
                left, right = min(left, atoms.extent[j - 1, 0]), max(right, atoms.extent[j - 1, 1])
                nx0, ny0, nx1, ny1 = atoms.boxes[j - 1]
                x0, y0, x1, y1 = min(x0, nx0), min(y0, ny0), max(x1, nx1), max(y1, ny1)
                # Too wide both along the slant and upright: shearing widens a digit with a long horizontal
                # stroke (a 2's base) as much as it narrows a slanted one.
                if min(right - left, x1 - x0) > config.max_width * h:
                    break
            if y1 - y0 >= config.min_height * h:
                add(i, j, (x0, y0, x1, y1), left, right, widest_gap)
    listed = set(index)
    for c in np.unique(atoms.component):
        pieces = np.flatnonzero(atoms.component == c)
        i, j = int(pieces[0]), int(pieces[-1]) + 1
        if len(pieces) > 1 and (i, j) not in listed:
            box = tuple(atoms.boxes[i:j, :2].min(axis=0)) + tuple(atoms.boxes[i:j, 2:].max(axis=0))
            add(i, j, box, atoms.extent[i:j, 0].min(), atoms.extent[i:j, 1].max(), 0.0)
    order = np.lexsort(np.array(index, np.int64).reshape(-1, 2).T[::-1]) if index else np.zeros(0, np.int64)
    return Spans(np.array(index, np.int64).reshape(-1, 2)[order], np.array(boxes, np.int64).reshape(-1, 4)[order],
                 np.array(shape, np.float64).reshape(-1, len(SHAPE))[order])


def render_span(ink: np.ndarray, atoms: Atoms, span: tuple[int, int], box: np.ndarray, pad: int = 2) -> np.ndarray:
    """The ink of atoms span[0]..span[1]-1 alone, cropped to their box with `pad` pixels of paper: (h, w) uint8."""
    x0, y0, x1, y1 = box
    labels = atoms.labels[y0:y1, x0:x1]
    mine = (labels > span[0]) & (labels <= span[1])
    # Paper all round: to_mnist reads the paper level off the border (ink_to_mnist, the same on it, knows it is 0).
    # Written into a zeroed canvas rather than np.pad, which costs ten times as much on arrays this small.
    out = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), np.uint8)
    out[pad:pad + y1 - y0, pad:pad + x1 - x0] = np.round(np.where(mine, ink[y0:y1, x0:x1], 0))
    return out

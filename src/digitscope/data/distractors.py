"""Things that are not digits, in MNIST's canonical form: the training data of the "not a digit" class
(class ``NOT_A_DIGIT`` = 10 of an 11-class model, ``digitscope train --distractors 0.1``) and the letters
out-of-distribution set.

Each kind (``KINDS``) is drawn on a field larger than 28x28, then put through ``preprocess.to_mnist`` like
any real image, so a distractor differs from a digit in what it shows, never in how it was framed:

- ``letter``: a letter rendered with PIL from an installed font, printed or handwriting-style, with random
  stroke-width (dilation), affine and elastic jitter; letters that are digits in disguise are left out
  (``EXCLUDED``, configurable)
- ``scribble``: a tangled smooth curve, or a few crossing straight strokes
- ``fragment``: a mis-cut pair of adjacent digits, the right part of one beside the left part of the next
  (the case of the confident CNN on a scribble: half a 4 and the curve of a 2)
- ``half-digit``: one digit with 40-60% of its ink box cut away (never a 1: half a 1 is still a 1)
- ``noise``: a patch of uniform, Gaussian or salt texture
- ``blank``: an empty field, or a few specks of dust

Fonts are split once and for all, by family so that no style is on both sides, into ``TRAINING_FONTS``
and ``HELD_OUT_FONTS``: the letters out-of-distribution set is drawn from held-out fonts only, so it
measures letters in fonts no model trained on. Fragments and half-digits are cut from the digits passed
in and nothing else (``mnist:train`` for training); the generator reads no dataset itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ..io import atomic_path, data_dir
from ..labels import NOT_A_DIGIT
from ..preprocess import to_mnist_batch
from .augment import AugmentConfig, augment_batch
from .cache import Arrays, DataUnavailableError

KINDS = ("letter", "scribble", "fragment", "half-digit", "noise", "blank")
# The share of each kind in a generated set. Letters lead: they are the richest source of shapes that are
# written like digits without being digits.
DEFAULT_MIX = {"letter": 0.40, "scribble": 0.15, "fragment": 0.20, "half-digit": 0.10, "noise": 0.08, "blank": 0.07}
# Digits in disguise: O o (0), l I (1), S (5), Z (2), B (8), g q (9) as the issue lists them, and s z b,
# which the 20-pixel box makes indistinguishable from S, Z and a 6.
EXCLUDED = "OolISZBgqszb"

# Font families by file-name prefix. Handwriting: fonts-dkg-handwriting (dkg*), fonts-breip, fonts-bwht
# (BecauseWe*, six writers), fonts-femkeklaver, fonts-dancingscript; print: fonts-dejavu, fonts-liberation2.
TRAINING_FONTS = ("dkg", "Breip", "breipfont", "BecauseWeBuild", "BecauseWeLearn", "BecauseWeOrganize",
                  "BecauseWeMentor", "DejaVuSans", "DejaVuSerif", "LiberationSans", "LiberationMono")
HELD_OUT_FONTS = ("femkeklaver", "BecauseWeConnect", "BecauseWeCreate", "DancingScript", "LiberationSerif")
FONT_SPLITS = {"train": TRAINING_FONTS, "held-out": HELD_OUT_FONTS}
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
FONT_PACKAGES = ("fonts-dkg-handwriting", "fonts-breip", "fonts-bwht", "fonts-femkeklaver", "fonts-dancingscript",
                 "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation2")

GLYPH_FIELD = 64  # a glyph is stored in a 64x64 field with its longest side GLYPH_BOX px: room to rotate and shear
GLYPH_BOX = 40
# Per-letter jitter. Stroke width: 0-2 dilations by a 3x3 max, each about 1 px of the final 20-px box.
LETTER_JITTER = AugmentConfig(rotate=20.0, scale=0.1, shift=0.05, shear=15.0, elastic=3.0)
FIELD = 56  # scribbles, noise and specks are drawn on a 56x56 field
# Bump when the drawing changes, so that cached sets made by older code are not reused.
GENERATOR_VERSION = 1


class FontsNotFoundError(DataUnavailableError):
    """No font of a split is installed."""


@dataclass(frozen=True)
class Distractors:
    """A generated set; every image is labelled ``NOT_A_DIGIT``. What each image is, is recorded with it."""

    images: np.ndarray  # (N, 28, 28) uint8, canonical (to_mnist) form
    kinds: np.ndarray  # (N,) str, one of KINDS
    glyphs: np.ndarray  # (N,) str: the letter drawn, '' for the other kinds
    fonts: np.ndarray  # (N,) str: the font file's name without suffix, '' for the other kinds
    sources: np.ndarray  # (N, 2) int64: the digits a fragment (both) or half-digit (first) was cut from, else -1

    def __len__(self) -> int:
        return len(self.images)

    @property
    def arrays(self) -> Arrays:
        return Arrays(self.images, np.full(len(self.images), NOT_A_DIGIT, np.int64))

    @property
    def checksum(self) -> str:
        return self.arrays.checksum

    def kind_counts(self) -> dict[str, int]:
        return {k: int((self.kinds == k).sum()) for k in KINDS}


# ---------------------------------------------------------------- fonts and glyphs

def family_of(font: Path, split: str) -> str | None:
    """The family of ``split`` (``'train'`` or ``'held-out'``) a font file belongs to, or None."""
    return next((f for f in FONT_SPLITS[split] if font.stem.startswith(f)), None)


def find_fonts(split: str = "train", dirs: tuple[Path, ...] = FONT_DIRS) -> list[Path]:
    """The installed .ttf / .otf files of a font split, sorted by name (one file per name)."""
    if split not in FONT_SPLITS:
        raise ValueError(f"unknown font split {split!r}; choose one of: {', '.join(FONT_SPLITS)}")
    found: dict[str, Path] = {}
    for root in dirs:
        if Path(root).is_dir():
            for path in sorted(Path(root).rglob("*")):
                if path.suffix.lower() in (".ttf", ".otf") and family_of(path, split):
                    found.setdefault(path.stem, path)
    if not found:
        raise FontsNotFoundError(
            f"no {split} fonts ({', '.join(FONT_SPLITS[split])}) found under {', '.join(map(str, dirs))}: "
            f"install them with `apt-get install {' '.join(FONT_PACKAGES)}`")
    return [found[name] for name in sorted(found)]


def _render(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray:
    canvas = Image.new("L", (160, 160))
    ImageDraw.Draw(canvas).text((80, 80), text, font=font, fill=255, anchor="mm")
    return np.asarray(canvas)


def _fit_field(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, longest side GLYPH_BOX, centred in a GLYPH_FIELD square."""
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = Image.fromarray(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = GLYPH_BOX / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                       Image.Resampling.LANCZOS)
    field = Image.new("L", (GLYPH_FIELD, GLYPH_FIELD))
    field.paste(crop, ((GLYPH_FIELD - crop.width) // 2, (GLYPH_FIELD - crop.height) // 2))
    return np.asarray(field)


@dataclass(frozen=True)
class GlyphBank:
    images: np.ndarray  # (G, 64, 64) uint8, sorted by family, font, letter
    letters: np.ndarray  # (G,) str
    fonts: np.ndarray  # (G,) str
    families: np.ndarray  # (G,) str


@functools.lru_cache(maxsize=8)
def glyph_bank(fonts: tuple[Path, ...], alphabet: str, split: str) -> GlyphBank:
    """Every letter of ``alphabet`` in every font, drawn once. A letter the font lacks (drawn as its
    missing-glyph box, or as nothing) is left out."""
    rows = []
    for path in fonts:
        font = ImageFont.truetype(str(path), 48)
        missing = _render(font, "\ue000")  # a private-use code point: what this font draws for a missing glyph
        for letter in alphabet:
            ink = _render(font, letter)
            if ink.any() and not np.array_equal(ink, missing):
                rows.append((family_of(path, split), path.stem, letter, _fit_field(ink)))
    if not rows:
        raise FontsNotFoundError(f"the fonts {[p.name for p in fonts]} draw none of the letters {alphabet!r}")
    rows.sort(key=lambda r: r[:3])
    families, names, chars, images = zip(*rows, strict=True)
    return GlyphBank(np.stack(images), np.array(chars), np.array(names), np.array(families))


def allowed_letters(excluded: str = EXCLUDED) -> str:
    letters = "".join(c for c in string.ascii_letters if c not in excluded)
    if not letters:
        raise ValueError(f"excluding {excluded!r} leaves no letters to draw")
    return letters


def letters(n: int, seed: int, fonts: str = "train", excluded: str = EXCLUDED,
            font_dirs: tuple[Path, ...] = FONT_DIRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, letters (n,), fonts (n,)): jittered letters of a font split. Each image
    picks a family uniformly, then one of its glyphs, so families with many files (DejaVu) do not crowd out
    the handwriting ones."""
    bank = glyph_bank(tuple(find_fonts(fonts, font_dirs)), allowed_letters(excluded), fonts)
    rng = np.random.default_rng(seed)
    names, starts, counts = np.unique(bank.families, return_index=True, return_counts=True)
    family = rng.integers(0, len(names), n)
    pick = starts[family] + (rng.random(n) * counts[family]).astype(np.int64)  # (n,) glyph indices
    width = torch.from_numpy(rng.integers(0, 3, n)).view(n, 1, 1, 1)  # (n, 1, 1, 1) dilations
    images = np.zeros((n, GLYPH_FIELD, GLYPH_FIELD), np.uint8)
    for start in range(0, n, 4096):  # in chunks: a float copy of 4,096 fields is 64 MB
        part = slice(start, start + 4096)
        x = torch.from_numpy(bank.images[pick[part]]).float().div_(255).unsqueeze(1)  # (B, 1, 64, 64)
        once = F.max_pool2d(x, 3, stride=1, padding=1)
        twice = F.max_pool2d(once, 3, stride=1, padding=1)
        x = torch.where(width[part] == 0, x, torch.where(width[part] == 1, once, twice))
        with torch.random.fork_rng(devices=[]):  # seeded jitter without disturbing the caller's random stream
            torch.manual_seed(int(rng.integers(2**31)))
            x = augment_batch(x, LETTER_JITTER)
        images[part] = x.squeeze(1).mul_(255).round_().clamp_(0, 255).to(torch.uint8).numpy()
    return to_mnist_batch(images), bank.letters[pick], bank.fonts[pick]


# ---------------------------------------------------------------- scribbles, noise, specks

def _catmull_rom(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """(P, 2) control points -> (M, 2) a smooth curve through all of them."""
    p = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None, None]  # (T, 1, 1)
    p0, p1, p2, p3 = p[:-3], p[1:-2], p[2:-1], p[3:]  # (P-1, 2) each
    curve = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                   + (3 * p1 - p0 - 3 * p2 + p3) * t**3)  # (T, P-1, 2)
    return np.concatenate([curve.transpose(1, 0, 2).reshape(-1, 2), points[-1:]])


def _scribble(rng: np.random.Generator) -> np.ndarray:
    canvas = Image.new("L", (FIELD, FIELD))
    draw = ImageDraw.Draw(canvas)
    width = int(rng.integers(2, 5))
    if rng.random() < 0.5:  # a tangle: 5 to 9 random points are too many turns for any digit
        curve = _catmull_rom(rng.uniform(8, FIELD - 8, (int(rng.integers(5, 10)), 2)))
        draw.line([tuple(p) for p in curve], fill=255, width=width, joint="curve")
    else:  # 3 to 5 strokes across the field: hatching, crosses, stars
        for _ in range(int(rng.integers(3, 6))):
            a, b = rng.uniform(6, FIELD - 6, (2, 2))
            draw.line([tuple(a), tuple(b)], fill=255, width=width)
    return np.asarray(canvas)


def _noise_patch(rng: np.random.Generator) -> np.ndarray:
    field = np.zeros((FIELD, FIELD), np.uint8)
    h, w = rng.integers(10, 41, 2)
    top, left = rng.integers(0, FIELD - h + 1), rng.integers(0, FIELD - w + 1)
    style = rng.integers(3)
    if style == 0:
        patch = rng.integers(0, 256, (h, w))
    elif style == 1:
        patch = np.clip(rng.normal(128, 60, (h, w)), 0, 255)
    else:
        patch = np.where(rng.random((h, w)) < rng.uniform(0.1, 0.5), 255, 0)
    field[top:top + h, left:left + w] = patch
    return field


def _blank(rng: np.random.Generator) -> np.ndarray:
    """An empty field, or one with 1-3 specks of dust (which to_mnist blows up to the 20-px box)."""
    field = np.zeros((FIELD, FIELD), np.uint8)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.integers(4, FIELD - 6, 2)
            size = int(rng.integers(2, 4))
            field[y:y + size, x:x + size] = rng.integers(120, 256)
    return field


# ---------------------------------------------------------------- pieces of digits

def ink_columns(image: np.ndarray) -> tuple[int, int]:
    """First and last column holding ink (the whole width for an empty image)."""
    cols = np.flatnonzero(image.any(axis=0))
    return (int(cols[0]), int(cols[-1])) if len(cols) else (0, image.shape[1] - 1)


def miscut(left: np.ndarray, right: np.ndarray, left_from: int, right_to: int, gap: int = 0) -> np.ndarray:
    """What a segmenter that cut in the wrong place hands on: columns ``left_from:`` of the left digit, ``gap``
    empty columns, columns ``:right_to`` of the right digit, in canonical form (28, 28)."""
    pieces = [left[:, left_from:], np.zeros((left.shape[0], gap), left.dtype), right[:, :right_to]]
    return to_mnist_batch([np.concatenate(pieces, axis=1)])[0]


def _fragment(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The right 30-70% of ``a``'s ink beside the left 30-70% of ``b``'s, 0-3 columns apart, ``b`` shifted
    up or down by up to 2 rows, as neighbours in a written number are."""
    a0, a1 = ink_columns(a)
    b0, b1 = ink_columns(b)
    cut_a = a0 + round(rng.uniform(0.3, 0.7) * (a1 - a0 + 1))
    cut_b = b0 + round(rng.uniform(0.3, 0.7) * (b1 - b0 + 1))
    b = np.roll(b, int(rng.integers(-2, 3)), axis=0)
    return miscut(a[:, :a1 + 1], b[:, b0:], cut_a, cut_b - b0, int(rng.integers(0, 4)))


def _half_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``digit`` with its ink box cut to 40-60% of its width or height, from a random side."""
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    if not len(rows):
        return np.zeros((28, 28), np.uint8)
    box = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = int(rng.integers(4))
    axis = side // 2  # 0, 1: keep the top / bottom rows; 2, 3: the left / right columns
    keep = max(1, round(rng.uniform(0.4, 0.6) * box.shape[axis]))
    box = np.moveaxis(box, axis, 0)
    box = box[:keep] if side % 2 == 0 else box[-keep:]
    return to_mnist_batch([np.ascontiguousarray(np.moveaxis(box, 0, axis))])[0]


# ---------------------------------------------------------------- a whole set

def count_for_share(n_digits: int, share: float) -> int:
    """How many distractors make up ``share`` of a set that also holds ``n_digits`` digits."""
    if not 0 < share < 1:
        raise ValueError(f"the share of distractors must be between 0 and 1 (e.g. 0.1), not {share}")
    return round(n_digits * share / (1 - share))


def generate(n: int, seed: int, digits: Arrays | None = None, fonts: str = "train", excluded: str = EXCLUDED,
             mix: dict[str, float] | None = None, font_dirs: tuple[Path, ...] = FONT_DIRS) -> Distractors:
    """``n`` distractors of the kinds in ``mix`` (default ``DEFAULT_MIX``), reproducible from ``seed``.
    Fragments join adjacent digits of ``digits`` (i and i+1), half-digits cut one; without ``digits`` those
    kinds' shares go to the others."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(mix) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown distractor kinds {unknown}; choose from: {', '.join(KINDS)}")
    if digits is None or len(digits) < 2:
        mix = {k: v for k, v in mix.items() if k not in ("fragment", "half-digit")}
    shares = np.array([mix.get(k, 0.0) for k in KINDS], np.float64)
    if n < 0 or shares.sum() <= 0 or (shares < 0).any():
        raise ValueError(f"need n >= 0 and non-negative shares with a positive sum, got n={n}, mix={mix}")
    rng = np.random.default_rng(seed)
    kind = rng.choice(len(KINDS), size=n, p=shares / shares.sum())  # (n,) index into KINDS
    images = np.zeros((n, 28, 28), np.uint8)
    glyphs, font_names = np.full(n, "", dtype="<U1"), np.full(n, "", dtype="<U64")
    sources = np.full((n, 2), -1, np.int64)

    where = np.flatnonzero(kind == KINDS.index("letter"))
    if len(where):
        images[where], glyphs[where], font_names[where] = letters(len(where), int(rng.integers(2**31)), fonts,
                                                                  excluded, font_dirs)
    for name, draw in (("scribble", _scribble), ("noise", _noise_patch), ("blank", _blank)):
        where = np.flatnonzero(kind == KINDS.index(name))
        if len(where):
            images[where] = to_mnist_batch([draw(rng) for _ in where])
    for index in np.flatnonzero(kind == KINDS.index("fragment")):
        i = int(rng.integers(len(digits) - 1))
        images[index] = _fragment(digits.images[i], digits.images[i + 1], rng)
        sources[index] = (i, i + 1)
    where = np.flatnonzero(kind == KINDS.index("half-digit"))
    if len(where):
        cuttable = np.flatnonzero(digits.labels != 1)  # half a 1 is a 1
        if not len(cuttable):
            raise ValueError("half-digits need digits other than 1")
        for index, i in zip(where, rng.choice(cuttable, len(where)), strict=True):
            images[index] = _half_digit(digits.images[i], rng)
            sources[index, 0] = i
    return Distractors(images, np.array(KINDS)[kind], glyphs, font_names, sources)


def cached(n: int, seed: int, digits: Arrays | None = None, fonts: str = "train", excluded: str = EXCLUDED,
           mix: dict[str, float] | None = None) -> Distractors:
    """``generate``, cached under $DIGITSCOPE_DATA as distractors-<key>.npz (written atomically, its checksum
    verified on reading). The key covers every input: the arguments, the font files, the digits' checksum
    and ``GENERATOR_VERSION``."""
    key = json.dumps({"version": GENERATOR_VERSION, "n": n, "seed": seed, "fonts": fonts, "excluded": excluded,
                      "mix": mix or DEFAULT_MIX, "font_files": [p.name for p in find_fonts(fonts)],
                      "digits": digits.checksum if digits is not None else None}, sort_keys=True)
    path = data_dir() / f"distractors-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            made = Distractors(z["images"], z["kinds"], z["glyphs"], z["fonts"], z["sources"])
            if str(z["checksum"]) == made.checksum:
                return made
    made = generate(n, seed, digits, fonts, excluded, mix)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, images=made.images, kinds=made.kinds, glyphs=made.glyphs, fonts=made.fonts,
                 sources=made.sources, checksum=np.array(made.checksum), key=np.array(key))
    return made

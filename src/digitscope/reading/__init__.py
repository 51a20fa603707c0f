"""Whole numbers: digit strings of any length, a box and a confidence for every digit."""

from . import datasets  # noqa: F401  (registers the datasets the Reader makes)
from .reader import DigitBox, Reader, Reading
from .segment import SegmentConfig

__all__ = ["DigitBox", "Reader", "Reading", "SegmentConfig"]

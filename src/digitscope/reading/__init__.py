"""Whole numbers: digit strings of any length, a box and a confidence for every digit."""

from . import datasets  # noqa: F401  (registers the datasets the Reader makes)
from .reader import Reader

__all__ = ["Reader"]

"""Whole numbers: digit strings of any length, a box and a confidence for every digit."""

from .reader import Reader

__all__ = ["Reader"]

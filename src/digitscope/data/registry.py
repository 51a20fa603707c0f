"""One registry of datasets: name -> how to fetch all its splits, and what they must hash to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .cache import Arrays, data_dir, load_arrays, save_arrays


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    splits: tuple[str, ...]
    fetch: Callable[[], dict[str, Arrays]]  # downloads / reads sources, returns every split
    checksums: dict[str, str] = field(default_factory=dict)  # split -> canonical SHA-256, where known
    trainable: bool = True  # False for evaluation-only (out-of-distribution) sets


_DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    _DATASETS[info.name] = info
    return info


def list_datasets() -> list[DatasetInfo]:
    return sorted(_DATASETS.values(), key=lambda d: d.name)


def get_dataset(name: str) -> DatasetInfo:
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(_DATASETS))}")
    return _DATASETS[name]


def cache_path(name: str, split: str):
    return data_dir() / f"{name}-{split}.npz"


def parse_spec(spec: str) -> tuple[DatasetInfo, str]:
    """'mnist:test' -> (mnist, 'test'). The split must be one the dataset has."""
    name, _, split = spec.partition(":")
    info = get_dataset(name)
    split = split or info.splits[0]
    if split not in info.splits:
        raise ValueError(f"{name} has no split {split!r}; choose one of: {', '.join(info.splits)}")
    return info, split


def fetch(name: str) -> dict[str, Arrays]:
    """Fetch every split of ``name`` into the cache (verifying known checksums) and return them."""
    info = get_dataset(name)
    if all(cache_path(name, s).exists() for s in info.splits):
        return {s: load_arrays(cache_path(name, s)) for s in info.splits}
    splits = info.fetch()
    for split, arrays in splits.items():
        expected = info.checksums.get(split)
        if expected and arrays.checksum != expected:
            raise ValueError(f"{name}:{split}: checksum {arrays.checksum} differs from the known {expected}")
        save_arrays(cache_path(name, split), arrays)
    return {s: splits[s] for s in info.splits}


def load(spec: str) -> Arrays:
    """Load one split, e.g. ``load('mnist:val')``, fetching the dataset on first use."""
    info, split = parse_spec(spec)
    path = cache_path(info.name, split)
    if path.exists():
        return load_arrays(path)
    return fetch(info.name)[split]

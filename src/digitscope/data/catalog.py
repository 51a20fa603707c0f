"""One registry of datasets: name -> how to fetch all its splits, and what they must hash to."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import data_dir, source_digest
from .cache import Arrays, DataUnavailableError, load_arrays, save_arrays


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    splits: tuple[str, ...]
    # Downloads / reads sources, returns every split; without it, fetch_split makes each split not made of parts.
    fetch: Callable[[], dict[str, Arrays]] | None = None
    checksums: dict[str, str] = field(default_factory=dict)  # split -> canonical SHA-256, where known
    trainable: bool = True  # False for evaluation-only (out-of-distribution) sets
    # Fetches one split alone, where splits are separate large downloads (SVHN's extra is 1.3 GB).
    fetch_split: Callable[[str], Arrays] | None = None
    # Data that the package's own code makes (synthetic strings, the Reader's cuts): those sources (files or
    # folders of the package). The cache is named after their digest, so changing that code makes the data
    # again instead of reading what the old code made.
    made_by: tuple[str, ...] = ()
    # Reads every split from a file or folder the user names (``digitscope data fetch NAME --from PATH``).
    fetch_from: Callable[[Path], dict[str, Arrays]] | None = None
    optional: tuple[str, ...] = ()  # splits a source may lack (an official evaluation set not everyone has)
    choose_only: tuple[str, ...] = ()  # splits for choosing and tuning that are never trained on
    terms: str = ""  # the terms of use a model trained on it must state in its card
    # split -> the splits it concatenates, in order: read from theirs at each load, never cached itself
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)


_DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    if info.fetch is None and info.fetch_split is None and set(info.splits) - set(info.parts):
        raise ValueError(f"dataset {info.name} has splits of its own and neither fetch nor fetch_split to make them")
    _DATASETS[info.name] = info
    if info.made_by:
        # The cache's name is the code's as the program started (registration happens at import), not as it is on
        # disk when the data is first asked for: code edited in between is not the code this process runs.
        _code_version(info.made_by)
    return info


def list_datasets() -> list[DatasetInfo]:
    return sorted(_DATASETS.values(), key=lambda d: d.name)


def get_dataset(name: str) -> DatasetInfo:
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(_DATASETS))}")
    return _DATASETS[name]


def cache_path(name: str, split: str) -> Path:
    info = _DATASETS.get(name)
    version = f"-{_code_version(info.made_by)}" if info is not None and info.made_by else ""
    return data_dir() / f"{name}-{split}{version}.npz"


def _version_on_disk(sources: tuple[str, ...]) -> str:
    return source_digest(*sources).hexdigest()[:12]


_code_version = functools.cache(_version_on_disk)  # the version this program runs: the first one it read


def parse_spec(spec: str) -> tuple[DatasetInfo, str]:
    """'mnist:test' -> (mnist, 'test'). The split must be one the dataset has."""
    name, _, split = spec.partition(":")
    info = get_dataset(name)
    split = split or info.splits[0]
    if split not in info.splits:
        raise ValueError(f"{name} has no split {split!r}; choose one of: {', '.join(info.splits)}")
    return info, split


def _store(info: DatasetInfo, split: str, arrays: Arrays) -> None:
    """Cache one split, refusing arrays that differ from the known checksum, and data made while the code that
    makes it changed (which code made it is then unknown, and a cache named after either version would lie)."""
    if info.made_by and _version_on_disk(info.made_by) != _code_version(info.made_by):
        raise RuntimeError(f"{info.name}: the code that makes it ({', '.join(info.made_by)}) changed while this "
                           f"program ran; nothing was cached: run it again")
    expected = info.checksums.get(split)
    if expected and arrays.checksum != expected:
        raise ValueError(f"{info.name}:{split}: checksum {arrays.checksum} differs from the known {expected}")
    save_arrays(cache_path(info.name, split), arrays)


def fetch(name: str, source: Path | None = None) -> dict[str, Arrays]:
    """Fetch every split of ``name`` into the cache (verifying known checksums) and return them; ``source``: read
    them from that file or folder instead of the dataset's usual sources, replacing what is cached."""
    info = get_dataset(name)
    required = [s for s in info.splits if s not in info.optional and s not in info.parts]
    if source is None and all(cache_path(name, s).exists() for s in required):
        return {s: load(f"{name}:{s}") for s in info.splits if s in info.parts or cache_path(name, s).exists()}
    if source is not None and info.fetch_from is None:
        raise ValueError(f"{name} takes no --from: it is fetched from its own sources (`digitscope data list`)")
    if source is not None:
        splits = info.fetch_from(Path(source))
    elif info.fetch is not None:
        splits = info.fetch()
    else:
        splits = {s: info.fetch_split(s) for s in info.splits if s not in info.parts}
    for split, arrays in splits.items():
        if split not in info.parts:  # a split made of others is read from theirs, not stored a second time
            _store(info, split, arrays)
    return {s: load(f"{name}:{s}") if s in info.parts else splits[s]
            for s in info.splits if s in splits or s in info.parts}


def load(spec: str) -> Arrays:
    """Load one split, e.g. ``load('mnist:val')``, fetching the dataset on first use."""
    info, split = parse_spec(spec)
    if split in info.parts:
        return concatenate(info.parts[split])
    path = cache_path(info.name, split)
    if path.exists():
        return load_arrays(path)
    if info.fetch_split is None:
        splits = fetch(info.name)
        if split not in splits:
            raise DataUnavailableError(f"{spec}: the source of {info.name} has no {split} split; pass one that has "
                                       f"it with `digitscope data fetch {info.name} --from PATH`")
        return splits[split]
    arrays = info.fetch_split(split)
    _store(info, split, arrays)
    return arrays


def describe_cache() -> list[dict]:
    """One row per cached split of a registered dataset, re-hashed so a corrupted cache shows up.

    ``verified`` is True / False when the split has a known checksum, None when it has none to compare.
    """
    rows = []
    for info in list_datasets():
        for split in info.splits:
            path = cache_path(info.name, split)
            if not path.exists():
                continue
            arrays = load_arrays(path)
            known = info.checksums.get(split)
            rows.append({
                "dataset": info.name,
                "split": split,
                "shape": list(arrays.images.shape),
                "bytes": path.stat().st_size,
                "checksum": arrays.checksum,
                "verified": None if known is None else arrays.checksum == known,
            })
    return rows


def concatenate(specs: tuple[str, ...]) -> Arrays:
    """Several splits one after the other (e.g. MNIST's and CVL's training digits), in the order named."""
    parts = [load(spec) for spec in specs]
    return Arrays(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))

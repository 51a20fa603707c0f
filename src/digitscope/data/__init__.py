"""Datasets in one canonical form: uint8 images + int64 labels, checksummed and cached atomically."""

from . import mnist
from .cache import Arrays, DataUnavailableError, array_checksum, data_dir
from .registry import DatasetInfo, cache_path, fetch, get_dataset, list_datasets, load, parse_spec, register

register(DatasetInfo(
    name="mnist",
    description="MNIST handwritten digits: train 55k / val 5k (tail of the official 60k) / test 10k",
    splits=("train", "val", "test", "train-full"),
    fetch=mnist.fetch,
    checksums=mnist.CHECKSUMS,
))

__all__ = [
    "Arrays", "DataUnavailableError", "DatasetInfo", "array_checksum", "cache_path", "data_dir", "fetch",
    "get_dataset", "list_datasets", "load", "parse_spec", "register",
]

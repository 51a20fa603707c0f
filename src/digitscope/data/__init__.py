"""Datasets in one canonical form: uint8 images + int64 labels, checksummed and cached atomically."""

from ..io import data_dir
from . import emnist, fashion, kannada, mnist, svhn
from .cache import Arrays, DataUnavailableError, array_checksum
from .catalog import (
    DatasetInfo,
    cache_path,
    describe_cache,
    fetch,
    get_dataset,
    list_datasets,
    load,
    parse_spec,
    register,
)

register(DatasetInfo(
    name="mnist",
    description="MNIST handwritten digits: train 55k / val 5k (tail of the official 60k) / test 10k",
    splits=("train", "val", "test", "train-full"),
    fetch=mnist.fetch,
    checksums=mnist.CHECKSUMS,
))
register(DatasetInfo(
    name="fashion",
    description="Fashion-MNIST clothing, evaluation-only out-of-distribution set: test 10k / train 60k",
    splits=fashion.SPLITS,
    fetch=fashion.fetch,
    checksums=fashion.CHECKSUMS,
    trainable=False,
))
register(DatasetInfo(
    name="kannada",
    description="Kannada-MNIST handwritten Kannada digits 0-9: train 60k / test 10k / dig 10,240 (Dig-MNIST)",
    splits=kannada.SPLITS,
    fetch=kannada.fetch,
))
register(DatasetInfo(
    name="svhn",
    description="SVHN cropped house-number digits, RGB 32x32: test 26,032 / train 73,257 / extra 531,131",
    splits=svhn.SPLITS,
    fetch=svhn.fetch,
    fetch_split=svhn.fetch_split,
))
register(DatasetInfo(
    name="emnist-letters",
    description="EMNIST handwritten letters, labels 1-26 = a-z (case merged): train 124,800 / test 20,800",
    splits=emnist.SPLITS,
    fetch=emnist.fetch,
))
__all__ = [
    "Arrays", "DataUnavailableError", "DatasetInfo", "array_checksum", "cache_path", "data_dir",
    "describe_cache", "fetch", "get_dataset", "list_datasets", "load", "parse_spec", "register",
]

"""Datasets in one canonical form: uint8 images + int64 labels, checksummed and cached atomically."""

from pathlib import Path

from ..io import data_dir
from . import cvl, emnist, fashion, kannada, mnist, mnist_writers, qmnist, svhn
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

MNIST_TERMS = "MNIST (LeCun, Cortes, Burges): CC BY-SA 3.0"

register(DatasetInfo(
    name="mnist",
    description="MNIST handwritten digits: train 55k / val 5k (tail of the official 60k) / test 10k",
    splits=("train", "val", "test", "train-full"),
    fetch=mnist.fetch,
    checksums=mnist.CHECKSUMS,
    terms=MNIST_TERMS,
))


def _mnist_writers(source: Path | None = None) -> dict[str, Arrays]:
    return mnist_writers.split(load("mnist:train-full"), load("mnist:test"), source)


register(DatasetInfo(
    name="mnist-writers",
    description="MNIST split by writer (QMNIST's writer ids): train 54,834 / val 5,166 of 46 writers the training "
                "split never has / test 10k",
    splits=mnist_writers.SPLITS,
    fetch=_mnist_writers,
    fetch_from=_mnist_writers,
    checksums=mnist_writers.CHECKSUMS,
    terms=f"{MNIST_TERMS}; {qmnist.TERMS}",
))
register(DatasetInfo(
    name="cvl",
    description="CVL Single Digits (ICDAR 2013), Austrian students: train 7,000 of 67 writers / valid 7,000 of 60 "
                "others (choosing only, never trained on) / eval 21,780 where the source has it",
    splits=cvl.SPLITS,
    fetch=cvl.fetch,
    fetch_from=cvl.fetch,
    checksums=cvl.CHECKSUMS,
    optional=cvl.OPTIONAL,
    choose_only=cvl.CHOOSE_ONLY,
    terms=cvl.TERMS,
))
# What the default model learns from: both populations of writers, chosen on writers neither training part has.
MNIST_CVL_PARTS = {"train": ("mnist-writers:train", "cvl:train"), "val": ("mnist-writers:val", "cvl:valid")}
register(DatasetInfo(
    name="mnist-cvl",
    description="MNIST and CVL together: train = mnist-writers:train + cvl:train (61,834) / val = mnist-writers:val "
                "+ cvl:valid (12,166), every validation writer new to training",
    splits=tuple(MNIST_CVL_PARTS),  # nothing of its own: both splits are made of their parts
    parts=MNIST_CVL_PARTS, choose_only=("val",),
    terms=f"{MNIST_TERMS}; {qmnist.TERMS}; {cvl.TERMS}",
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

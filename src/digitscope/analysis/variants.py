"""The ways each digit is written: k-means clusters of the model's embeddings, one per writing variant.

Each digit's images (by their given label) are clustered in the space of the layer before the classifier;
a cluster's exemplars are the images nearest its centre, and its error rate says which variants the model
reads worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data
from .label_issues import trained_on
from .sheets import contact_sheet


@dataclass(frozen=True)
class Cluster:
    digit: int
    rank: int  # 1 = the largest cluster of its digit
    size: int
    errors: int  # members the model misclassifies
    exemplars: np.ndarray  # indices into the input arrays, nearest the centre first

    @property
    def error_rate(self) -> float:
        return self.errors / self.size

    def to_dict(self) -> dict:
        return {"digit": self.digit, "cluster": self.rank, "size": self.size, "errors": self.errors,
                "error_rate": self.error_rate, "exemplars": [int(i) for i in self.exemplars]}


def cluster_variants(embeddings: np.ndarray, labels: np.ndarray, predictions: np.ndarray, k: int = 4,
                     seed: int = 0, per_cluster: int = 8) -> list[Cluster]:
    """Cluster each label's embeddings into (at most) ``k`` clusters, largest first within a digit.

    embeddings: (N, D); labels, predictions: (N,), a label of -1 leaves its image out. A digit with fewer than ``k``
    images gets one cluster each.
    """
    from sklearn.cluster import KMeans

    embeddings, labels, predictions = np.asarray(embeddings), np.asarray(labels), np.asarray(predictions)
    _check_options(k, per_cluster)
    if len(labels) == 0:
        raise ValueError("no examples: the dataset is empty")
    if not len(embeddings) == len(labels) == len(predictions):
        raise ValueError(f"{len(embeddings)} embeddings, {len(labels)} labels, {len(predictions)} predictions")
    clusters = []
    for digit in np.unique(labels[labels >= 0]):  # -1: an image left out
        members = np.flatnonzero(labels == digit)
        x = embeddings[members]
        # n_init=3 rather than sklearn's 10: the clusters are for looking at, and 55k images must cluster in seconds.
        km = KMeans(n_clusters=min(k, len(members)), n_init=3, random_state=seed).fit(x)
        distance = np.linalg.norm(x - km.cluster_centers_[km.labels_], axis=1)
        groups = sorted((np.flatnonzero(km.labels_ == c) for c in range(km.n_clusters)), key=len, reverse=True)
        for rank, group in enumerate(groups, 1):
            nearest = group[np.argsort(distance[group], kind="stable")[:per_cluster]]
            errors = int((predictions[members[group]] != digit).sum())
            clusters.append(Cluster(int(digit), rank, len(group), errors, members[nearest]))
    return clusters


def head_variants(variant_logits: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                  per_cluster: int = 8) -> list[Cluster]:
    """Group each digit's images by the latent variant of a variant head that claims them most strongly.

    variant_logits: (N, classes, K). Exemplars are the images a variant claims with the highest share of
    its digit's probability; groups largest first within a digit, as with clusters."""
    variant_logits, labels, predictions = np.asarray(variant_logits), np.asarray(labels), np.asarray(predictions)
    clusters = []
    for digit in np.unique(labels[labels >= 0]):  # -1: an image left out
        members = np.flatnonzero(labels == digit)
        own = variant_logits[members, digit, :]  # (M, K) the variants of the image's own digit
        share = np.exp(own - own.max(axis=1, keepdims=True))
        share /= share.sum(axis=1, keepdims=True)
        which = share.argmax(axis=1)
        groups = sorted((np.flatnonzero(which == v) for v in range(own.shape[1])), key=len, reverse=True)
        for rank, group in enumerate((g for g in groups if len(g)), 1):
            strongest = group[np.argsort(-share[group, which[group][0]], kind="stable")[:per_cluster]]
            errors = int((predictions[members[group]] != digit).sum())
            clusters.append(Cluster(int(digit), rank, len(group), errors, members[strongest]))
    return clusters


def _check_options(k: int, per_cluster: int) -> None:
    if k < 1:
        raise ValueError(f"--clusters must be at least 1, got {k}")
    if per_cluster < 1:
        raise ValueError(f"--per-cluster must be at least 1, got {per_cluster}")


def embed_and_predict(clf, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings and the model's predictions (its likeliest digit), from one pass over the images when the
    digit network is the whole model."""
    import torch

    embeddings = clf.embed(images)
    if clf.digit_network is not clf.model:  # a gate's or a bundle's answer is more than its digit network's
        return embeddings, clf.best_digit(clf.predict_proba(images))
    # embed() has checked that the digit network ends in this Linear layer: applying it to the embeddings gives
    # its own logits without running the images through the network a second time.
    with torch.no_grad():
        logits = clf.digit_network[-1](torch.from_numpy(embeddings).to(clf.device))
    return embeddings, logits.argmax(dim=1).cpu().numpy()


def variant_map(clf, spec: str, out: Path, k: int = 4, per_cluster: int = 8, limit: int | None = None,
                seed: int = 0, model_name: str = "", command: str = "", digits: list[int] | None = None) -> dict:
    """Cluster each digit of a split and write ``digit<d>.png`` galleries and ``report.md`` to ``out``.

    ``clf``: a DigitClassifier; ``limit``: use only the first ``limit`` images of the split; ``digits``: only these
    digits (exemplar numbers still index the split).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    if digits is not None and not all(0 <= d <= 9 for d in digits):
        raise ValueError(f"--digits takes digits 0-9, got {','.join(map(str, digits))}")
    arrays = data.load(spec)
    images, labels = arrays.images[:limit], arrays.labels[:limit]
    if digits is not None:  # the others' labels become -1: no cluster is made of them
        labels = np.where(np.isin(labels, digits), labels, -1)
    if not (labels >= 0).any():
        raise ValueError(f"{spec} has no images{' of those digits' if digits is not None else ''} to cluster")
    _check_options(k, per_cluster)  # before the embeddings, which take a while
    embeddings, predictions = embed_and_predict(clf, images)
    head = clf.digit_network[-1]
    if hasattr(head, "variant_logits"):  # a variant head has found the variants itself: show its own
        import torch

        with torch.no_grad():
            variant_logits = head.variant_logits(torch.from_numpy(embeddings).to(clf.device)).cpu().numpy()
        clusters, k, method = head_variants(variant_logits, labels, predictions, per_cluster), head.variants, "head"
    else:
        clusters, method = cluster_variants(embeddings, labels, predictions, k, seed, per_cluster), "k-means"

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digits = []
    for digit in sorted({c.digit for c in clusters}):
        rows = [c for c in clusters if c.digit == digit]
        gallery = _draw_gallery(rows, images, predictions, per_cluster, out / f"digit{digit}.png",
                                f"{spec}: digit {digit}, {sum(c.size for c in rows):,} images in {len(rows)} clusters")
        digits.append({"digit": digit, "n": sum(c.size for c in rows), "errors": sum(c.errors for c in rows),
                       "gallery": str(gallery), "clusters": [c.to_dict() for c in rows]})
    result = {"data": spec, "data_checksum": arrays.checksum, "n": len(labels), "model": model_name,
              "method": method, "clusters": k, "per_cluster": per_cluster, "seed": seed,
              "in_sample": trained_on(clf.card, spec, arrays.checksum), "digits": digits,
              "report": str(out / "report.md")}
    _write_report(out / "report.md", result, command)
    return result


def _draw_gallery(rows: list[Cluster], images: np.ndarray, predictions: np.ndarray, columns: int,
                  path: Path, title: str) -> Path:
    """One row per cluster; its first caption carries the cluster's size and error rate, '→ P' marks a misreading."""
    cells, captions = [], []
    for c in rows:
        for j in range(columns):
            if j >= len(c.exemplars):  # a blank cell keeps the next cluster on its own row
                cells.append(np.zeros((28, 28), np.uint8))
                captions.append("")
                continue
            i = c.exemplars[j]
            caption = f"#{i}" + (f" → {predictions[i]}" if predictions[i] != c.digit else "")
            if j == 0:
                caption = f"cluster {c.rank}\nn = {c.size:,}\nerrors {c.error_rate:.2%}\n{caption}"
            cells.append(images[i])
            captions.append(caption)
    return contact_sheet(np.stack(cells), captions, path, title=title, columns=columns)


def _write_report(path: Path, result: dict, command: str) -> None:
    lines = [f"# Writing variants in {result['data']}", ""]
    if command:
        lines += ["```sh", command, "```", ""]
    if result["method"] == "head":
        how = (f"the model's variant head ({result['clusters']} latent variants per digit, learnt from digit "
               "labels alone): each image goes to the variant of its digit that claims it most strongly; each "
               "row shows the images its variant claims most strongly")
    else:
        how = (f"k-means with k = {result['clusters']} (seed {result['seed']}) on each digit's embeddings (the "
               "layer before the classifier); each row shows the images nearest a cluster's centre")
    lines += [f"Model {result['model']}; {result['n']:,} images; {how}. Error rate = share of the group the "
              "model misclassifies ('#index → P' under an exemplar: the model reads it as P).", ""]
    if result["in_sample"]:
        lines += ["The model trained on this split: its error rates here are in-sample, lower than on images it "
                  "has not seen; they still show which variants it learned worst.", ""]
    lines += ["| digit | cluster | size | errors | error rate |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {d['digit']} | {c['cluster']} | {c['size']:,} | {c['errors']} | {c['error_rate']:.2%} |"
              for d in result["digits"] for c in d["clusters"]]
    for d in result["digits"]:
        lines += ["", f"## Digit {d['digit']}", "", f"![digit {d['digit']}](digit{d['digit']}.png)"]
    path.write_text("\n".join(lines) + "\n")

"""Stratified, seeded, grouped train/val/test split stored as JSON (so runs are reproducible).

- **Stratified:** defective and defect-free images are split separately, each at
  (at least) the fractions asked, so every split holds both kinds where the data does.
- **Grouped:** images of one part (several views or shots of it) never straddle two
  splits, or a part seen in training would be scored as unseen. Groups come from
  ``group_regex`` or, when the names carry a part id (``part0012_view1``,
  ``P7-top``...), from the name without its last token (see :func:`find_groups`).
- **Seeded:** the same samples, fractions and seed give the same split.

The val split picks the checkpoint and the threshold; the test split only reports.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.io import DataError
from trainer.data.sample import Sample

_LAST_TOKEN = re.compile(r"^(.*?[^_\-. ])[_\-. ]+[^_\-. ]+$")
# auto grouping must look like parts: at least half the images share a part with another,
# no part holds more than this share of the images, and there are at least MIN_GROUPS parts
_MAX_GROUP_SHARE = 0.1
_MIN_GROUPS = 5


@dataclass(slots=True)
class Split:
    train: list[str]
    val: list[str]
    seed: int
    val_fraction: float
    data: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    test: list[str] = field(default_factory=list)
    test_fraction: float = 0.0
    grouping: str = "none"  # how images were grouped into parts (none | name prefix | regex ...)
    test_source: str = "split"  # "split" or the folder of a data set's own test set (DAGM Test/)


def _stem(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def find_groups(keys: list[str], group_regex: str | None = None) -> tuple[dict[str, str], str]:
    """(key -> part id, how it was found). Without a regex, a name's part id is the name without
    its last ``_``/``-``/``.`` token, kept only when that looks like parts (see the module doc);
    otherwise every image is its own part."""
    if group_regex:
        try:
            rx = re.compile(group_regex)
        except re.error as exc:
            raise ValueError(f"--group-regex {group_regex!r}: {exc}") from None
        out = {}
        for k in keys:
            m = rx.search(_stem(k))
            out[k] = (m.group(1) if m.groups() else m.group(0)) if m else _stem(k)
        return out, f"regex {group_regex}"
    cand = {}
    for k in keys:
        m = _LAST_TOKEN.match(_stem(k))
        cand[k] = m.group(1) if m else _stem(k)
    sizes: dict[str, int] = defaultdict(int)
    for g in cand.values():
        sizes[g] += 1
    n = len(keys)
    shared = sum(1 for g in cand.values() if sizes[g] > 1)
    if (
        n
        and shared >= 0.5 * n
        and max(sizes.values()) <= max(2, _MAX_GROUP_SHARE * n)
        and len(sizes) >= _MIN_GROUPS
    ):
        return cand, "name prefix (part id before the last _ - . token)"
    return {k: k for k in keys}, "none"


def make_split(
    samples: list[Sample],
    val_fraction: float = 0.3,
    seed: int = 0,
    data: str = "",
    test_fraction: float = 0.0,
    group_regex: str | None = None,
) -> Split:
    """Split defective and defect-free parts separately: test first, then val, each at >= its
    fraction of the images (rounded up), the rest train.

    Rounding up per stratum keeps each share at or above the fraction asked and puts
    defects in val whenever the data has >= 2 defective parts (and in test too from 3).
    With ``test_fraction`` 0 and no groups this is the two-way split of earlier versions,
    image for image.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if not 0.0 <= test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1 - val_fraction), got {test_fraction}")
    group_of, grouping = find_groups([s.key for s in samples], group_regex)
    members: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        members[group_of[s.key]].append(s)
    rng = np.random.default_rng(seed)
    train: list[str] = []
    val: list[str] = []
    test: list[str] = []
    for flag in (True, False):
        groups = sorted(g for g, ms in members.items() if any(m.defective for m in ms) == flag)
        if not groups:
            continue
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_img = sum(len(members[g]) for g in groups)
        want_test = math.ceil(n_img * test_fraction) if len(groups) > 2 else 0
        want_val = math.ceil(n_img * val_fraction) if len(groups) > 1 else 0
        pos = 0
        for want, out in ((want_test, test), (want_val, val)):
            got = 0
            while got < want and pos < len(order) - 1:  # the last part always trains
                out.extend(s.key for s in members[order[pos]])
                got += len(members[order[pos]])
                pos += 1
        train += [s.key for g in order[pos:] for s in members[g]]
    by_key = {s.key: s for s in samples}
    split = Split(
        sorted(train), sorted(val), seed, val_fraction, data, {}, sorted(test), test_fraction, grouping
    )
    split.counts = split_counts(split, by_key)
    return split


def split_counts(split: Split, by_key: dict[str, Sample]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in ("train", "val", "test"):
        keys = getattr(split, name)
        out[name] = len(keys)
        out[f"{name}_defective"] = sum(by_key[k].defective for k in keys if k in by_key)
    return out


def save_split(split: Split, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(asdict(split), indent=2) + "\n", encoding="utf-8")


def load_split(path: Path) -> Split:
    """A split file; files from before the test split read with an empty one."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return Split(
            list(d["train"]),
            list(d["val"]),
            int(d["seed"]),
            float(d["val_fraction"]),
            str(d.get("data", "")),
            dict(d.get("counts", {})),
            list(d.get("test", [])),
            float(d.get("test_fraction", 0.0)),
            str(d.get("grouping", "none")),
            str(d.get("test_source", "split")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a valid split file: {exc}") from exc


def select(samples: list[Sample], keys: list[str], source: Path | str = "split") -> list[Sample]:
    """The samples named by ``keys`` in that order; unknown keys are an error naming ``source``."""
    by_key = {s.key: s for s in samples}
    missing = [k for k in keys if k not in by_key]
    if missing:
        raise DataError(f"{source}: {len(missing)} keys not in the data set, e.g. {missing[:3]}")
    return [by_key[k] for k in keys]

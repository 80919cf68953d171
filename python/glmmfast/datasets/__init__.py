"""Datasets shipped with glmmfast (exported from R's lme4 1.1-31 and glmmTMB 1.1.5; large ones as .csv.gz).

:func:`load` returns a pandas DataFrame whose factor columns are
Categoricals with R's level order (ordered where R's factor is), so
reference levels and names match lme4's and glmmTMB's.  The frame's ``attrs["name"]`` holds the dataset's name, which
summaries print as lme4 prints ``Data:``.

Examples
--------
>>> from glmmfast import datasets
>>> df = datasets.load("grouseticks")
>>> df.shape
(403, 7)
>>> list(df["YEAR"].cat.categories)
['95', '96', '97']
>>> str(df["TICKS"].dtype), str(df["cHEIGHT"].dtype)
('int64', 'float64')
"""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd

from .._errors import DataError

__all__ = ["load", "names", "describe"]

_DESCRIPTIONS = {
    "grouseticks": "Ticks on red grouse chicks: counts by brood, location, year and height (403 rows).",
    "cbpp": "Contagious bovine pleuropneumonia: new cases per herd and period (56 rows).",
    "sleepstudy": "Reaction times of 18 subjects over 10 days of sleep deprivation (180 rows).",
    "InstEval": "University lecture evaluations by students: rating y by student s, lecturer d, "
                "department dept, service course or not (73,421 rows).",
    "Salamanders": "Salamander counts by site (23 streams, some affected by mountaintop-removal coal mining), "
                   "species/life stage spp and survey, from glmmTMB (644 rows).",
    "Owls": "Begging calls (SiblingNegotiation) of barn owl nestlings by nest, food treatment and sex of the "
            "provisioning parent, with brood size, from glmmTMB (599 rows).",
}


def names() -> list[str]:
    """Names of the bundled datasets.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from glmmfast import datasets
    >>> datasets.names()
    ['InstEval', 'Owls', 'Salamanders', 'cbpp', 'grouseticks', 'sleepstudy']
    """
    return sorted(_DESCRIPTIONS)


def describe(name: str) -> str:
    """One-line description of a bundled dataset.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    str

    Examples
    --------
    >>> from glmmfast import datasets
    >>> datasets.describe("cbpp")
    'Contagious bovine pleuropneumonia: new cases per herd and period (56 rows).'
    """
    _check(name)
    return _DESCRIPTIONS[name]


def _check(name: str) -> None:
    if name not in _DESCRIPTIONS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(names())}")


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    DataFrame
        Factor columns as ordered-as-in-R Categoricals; whole-number columns
        (counts such as ``TICKS``, ``HEIGHT`` in metres, ``Days``) as int64, as
        R's ``read.csv`` reads them; other numeric columns as float64.

    Examples
    --------
    >>> from glmmfast import datasets
    >>> df = datasets.load("sleepstudy")
    >>> df.shape, df.attrs["name"], str(df["Days"].dtype)
    ((180, 3), 'sleepstudy', 'int64')
    """
    _check(name)
    root = resources.files(__package__) / "data"
    schema = json.loads((root / f"{name}.schema.json").read_text())
    cols = schema["columns"]
    dtypes = {c: (str if spec["type"] == "factor" else None) for c, spec in cols.items()}
    # Larger datasets are stored gzip-compressed.
    plain = root / f"{name}.csv"
    path, compression = (plain, None) if plain.is_file() else (root / f"{name}.csv.gz", "gzip")
    with path.open("rb") as fh:
        df = pd.read_csv(fh, dtype={c: str for c, t in dtypes.items() if t is str}, compression=compression)
    for c, spec in cols.items():
        if spec["type"] == "factor":
            # a schema's "ordered": true gives R's ordered factor (contr.poly contrasts)
            df[c] = pd.Categorical(df[c], categories=spec["levels"], ordered=bool(spec.get("ordered", False)))
        elif spec["type"] == "integer":
            df[c] = df[c].astype("int64")
        else:
            df[c] = df[c].astype("float64")
    df.attrs["name"] = name
    return df

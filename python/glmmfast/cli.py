"""The ``glmmfast`` command line: fit a model from a shell, list the bundled data.

Interface
---------
main(argv=None) -> int
    ``glmmfast fit FORMULA --data PATH_OR_NAME [--family F] [--link L] [--nAGQ K]
    [--reml | --ml] [--factor COL ...] [--name NAME] [--json]``, ``glmmfast datasets``,
    ``glmmfast --version``.  Returns the exit status: 0 success, 1 the fit
    failed, 2 a usage error (bad arguments, unreadable file, missing column,
    bad formula, unknown family).  Errors are one line on stderr.
read_data(source, factors=()) -> DataFrame
    A CSV or Parquet file, or a bundled dataset by name.
fit_document(fit) -> dict
    Every estimate of a fit as JSON-ready Python objects (what ``--json`` prints).

The model is chosen from the formula and family, as in R: no random-effects
terms -> ``glm``; ``--family nbinom2`` -> ``glmer_nb``; gaussian with identity link -> ``lmer`` (if this glmmfast
has it); otherwise ``glmer``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

import glmmfast

from . import datasets
from ._errors import ConvergenceError, DataError, GlmmfastError
from .formula._formula import parse_formula
from .families import get_family

# What --family accepts (R's names; nbinom2 is glmer.nb, the shape estimated).
_FAMILIES = ("gaussian", "poisson", "binomial", "Gamma", "inverse.gaussian", "nbinom2")

__all__ = ["main", "read_data", "fit_document"]

_PROG = "glmmfast"


class _UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    # argparse prints usage and exits itself; raising lets main() return the status.
    def error(self, message: str):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog=_PROG, description="Fit generalized linear mixed models with lme4's formulas.")
    p.add_argument("--version", action="version", version=f"{_PROG} {glmmfast.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    fit = sub.add_parser("fit", help="fit a model and print its summary (or --json)",
                         description="Fit a model: glm without random-effects terms, lmer for gaussian "
                                     "identity, glmer otherwise.")
    fit.add_argument("formula", metavar="FORMULA", help="lme4 formula, e.g. 'TICKS ~ YEAR + (1 | LOCATION)'")
    fit.add_argument("--data", required=True, metavar="PATH_OR_NAME",
                     help="CSV or Parquet file, or a bundled dataset name (see 'glmmfast datasets')")
    fit.add_argument("--family", default="gaussian",
                     help=f"{', '.join(_FAMILIES)} (default: gaussian; nbinom2 estimates the negative-binomial "
                          "shape theta, as lme4's glmer.nb)")
    fit.add_argument("--link", default=None, help="link function (default: the family's canonical link)")
    fit.add_argument("--nAGQ", type=int, default=1, metavar="K",
                     help="0: fast fit; 1: Laplace (default); >1: adaptive quadrature where available")
    reml = fit.add_mutually_exclusive_group()
    reml.add_argument("--reml", dest="reml", action="store_true", default=None,
                      help="linear mixed models: REML criterion (lme4's default)")
    reml.add_argument("--ml", dest="reml", action="store_false", help="linear mixed models: maximum likelihood")
    fit.add_argument("--factor", action="append", default=[], metavar="COL",
                     help="treat column COL of a file as a factor (repeatable; text columns already are)")
    fit.add_argument("--json", action="store_true", help="print every estimate as a JSON document")
    fit.add_argument("--name", default=None, metavar="NAME",
                     help="the data's name on the summary's 'Data:' line and in --json (default: the "
                          "dataset's name or the file's stem)")
    sub.add_parser("datasets", help="list the bundled datasets")
    return p


# -- data ------------------------------------------------------------------------
def read_data(source: str, factors: Sequence[str] = ()) -> pd.DataFrame:
    """Read the data for a fit: a CSV or Parquet file, or a bundled dataset.

    Parameters
    ----------
    source : str
        Path to a ``.csv`` (or ``.txt``) or ``.parquet``/``.pq`` file, or the
        name of a bundled dataset (:func:`glmmfast.datasets.names`).
    factors : sequence of str
        Columns to convert to factors (pandas Categoricals with sorted levels,
        as R's ``factor()``), e.g. integer-coded years.

    Returns
    -------
    pandas.DataFrame
        ``attrs["name"]`` is the dataset name or the file's stem (printed as
        ``Data:`` in summaries).

    Raises
    ------
    DataError
        No such file or dataset, an unreadable file, an unknown file type,
        or a factor column that does not exist.

    Examples
    --------
    >>> from glmmfast.cli import read_data
    >>> read_data("cbpp").shape
    (56, 4)
    """
    path = Path(source)
    if path.is_dir():
        raise DataError(f"{source!r} is a directory, not a data file (give a .csv, .tsv or .parquet file)")
    if path.is_file():
        df = _read_file(path)
        df.attrs["name"] = path.stem
    elif source in datasets.names():
        df = datasets.load(source)
    else:
        raise DataError(f"no file or bundled dataset named {source!r} "
                        f"(bundled: {', '.join(datasets.names())})")
    for col in factors:
        if col not in df.columns:
            raise DataError(f"--factor {col!r}: no such column in {source!r}")
        df[col] = pd.Categorical(df[col])
    return df


def _read_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401  (pandas needs an engine; say which one is missing)
            except ImportError:
                raise DataError(f"reading {path.name} needs pyarrow: pip install pyarrow") from None
            df = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise DataError(f"{path.name}: unknown file type {suffix!r} (use .csv, .tsv or .parquet)")
    except DataError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path}: {_one_line(str(e))}") from None
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise DataError(f"{path} holds no data")
    # Text columns become factors with sorted levels, as R's read.csv(stringsAsFactors=TRUE).
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype):
            df[col] = pd.Categorical(df[col])
    return df


# -- fitting ---------------------------------------------------------------------
def _fit(args: argparse.Namespace, df: pd.DataFrame):
    family = None if args.family.lower() == "nbinom2" else get_family(args.family, args.link)
    has_random = bool(parse_formula(args.formula).random)
    linear = family is not None and family.name == "gaussian" and family.link == "identity"
    if args.reml is not None and not (linear and has_random):
        raise _UsageError("--reml/--ml apply only to linear mixed models (gaussian family, identity link, "
                          "random-effects terms)")
    common = {"data_name": args.name, "quiet": True}  # messages are printed with the summary / in the JSON
    if args.family.lower() == "nbinom2":
        if not has_random:
            raise _UsageError("--family nbinom2 needs random-effects terms (glmer.nb)")
        return glmmfast.glmer_nb(args.formula, df, link=args.link or "log", nAGQ=args.nAGQ, **common)
    if not has_random:
        if args.nAGQ != 1:
            raise _UsageError("--nAGQ applies only to models with random-effects terms")
        return glmmfast.glm(args.formula, df, family=family, **common)
    if linear:
        lmer = getattr(glmmfast, "lmer", None)
        if lmer is None:
            raise _UsageError("linear mixed models (gaussian family, identity link) need glmmfast.lmer, "
                              "which this version of glmmfast does not have")
        reml = True if args.reml is None else args.reml
        params = inspect.signature(lmer).parameters
        kw = next((k for k in ("REML", "reml") if k in params), None)
        return lmer(args.formula, df, **({kw: reml} if kw else {}), **{k: v for k, v in common.items() if k in params})
    return glmmfast.glmer(args.formula, df, family=family, nAGQ=args.nAGQ, **common)


# -- output ----------------------------------------------------------------------
def _json_value(x):
    """numpy/pandas values -> JSON-ready Python values (non-finite -> None)."""
    if isinstance(x, pd.DataFrame):
        return {str(c): _json_value(x[c].tolist()) for c in x.columns}
    if isinstance(x, pd.Series):
        return {str(k): _json_value(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return _json_value(x.tolist())
    if isinstance(x, dict):
        return {str(k): _json_value(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_value(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def fit_document(fit) -> dict:
    """Every estimate of a fitted model as JSON-ready Python objects.

    Parameters
    ----------
    fit : GlmerResult or GlmResult (or an lmer result)

    Returns
    -------
    dict
        ``model`` (the function that fitted it), ``formula``, ``family``,
        ``link``, ``data``, ``nobs``, ``fixef``, ``se``, ``vcov`` (``{"names":
        [...], "matrix": [[...]]}``), ``loglik``, ``aic``, ``bic``,
        ``deviance``, ``df_resid``, ``converged``, ``messages``; for mixed
        models also ``theta`` (``{name: value}``), ``varcorr`` (records of
        lme4's ``as.data.frame(VarCorr(fit))``), ``ngroups``, ``nAGQ`` and,
        where the model has them, ``sigma`` and ``reml``.  Non-finite
        numbers are ``None``.

    Examples
    --------
    >>> import glmmfast
    >>> from glmmfast.cli import fit_document
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> doc = fit_document(m)
    >>> doc["model"], doc["ngroups"], round(doc["theta"]["LOCATION.(Intercept)"], 4)
    ('glmer', {'LOCATION': 63}, 1.2831)
    """
    mixed = hasattr(fit, "theta")
    vcov = fit.vcov
    doc = {
        "model": type(fit).__name__.replace("Result", "").lower(),
        "formula": fit.formula,
        "family": fit.family.name,
        "link": fit.family.link,
        "data": fit.data_name,
        "nobs": fit.nobs,
        "fixef": fit.fixef,
        "se": fit.se,
        "vcov": {"names": [str(c) for c in vcov.columns], "matrix": vcov.to_numpy()},
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "deviance": fit.deviance,
        "df_resid": fit.df_resid,
        "converged": fit.converged,
        "messages": list(fit.messages),
    }
    if mixed:
        doc["theta"] = dict(zip(fit.theta_names, np.asarray(fit.theta).tolist()))
        doc["varcorr"] = fit.varcorr.to_dict("records")  # NaN/None (no var2) -> null below
        doc["ngroups"] = dict(fit.ngroups)
        doc["nAGQ"] = getattr(fit, "nAGQ", None)
        for extra in ("sigma", "reml", "nb_theta"):
            if getattr(fit, extra, None) is not None:
                doc[extra] = getattr(fit, extra)
    else:
        doc["dispersion"] = fit.dispersion
        doc["null_deviance"] = fit.null_deviance
    return _json_value(doc)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _error(message: str, status: int) -> int:
    print(f"{_PROG}: error: {_one_line(message)}", file=sys.stderr)
    return status


# -- entry point -----------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``glmmfast`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 the fit failed, 2 a usage error.

    Examples
    --------
    >>> from glmmfast.cli import main
    >>> main(["datasets"])
    InstEval     University lecture evaluations by students: rating y by student s, lecturer d, department dept, service course or not (73,421 rows).
    Owls         Begging calls (SiblingNegotiation) of barn owl nestlings by nest, food treatment and sex of the provisioning parent, with brood size, from glmmTMB (599 rows).
    Salamanders  Salamander counts by site (23 streams, some affected by mountaintop-removal coal mining), species/life stage spp and survey, from glmmTMB (644 rows).
    cbpp         Contagious bovine pleuropneumonia: new cases per herd and period (56 rows).
    grouseticks  Ticks on red grouse chicks: counts by brood, location, year and height (403 rows).
    sleepstudy   Reaction times of 18 subjects over 10 days of sleep deprivation (180 rows).
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as e:
        parser.print_usage(sys.stderr)
        return _error(str(e), 2)
    except SystemExit as e:  # --help and --version exit 0 after printing
        return int(e.code or 0)
    if args.command == "datasets":
        width = max(map(len, datasets.names()))
        for name in datasets.names():
            print(f"{name:<{width}}  {datasets.describe(name)}")
        return 0
    if args.command != "fit":
        parser.print_usage(sys.stderr)
        return _error("choose a command: fit or datasets", 2)
    try:
        df = read_data(args.data, args.factor)
        fit = _fit(args, df)
    except _UsageError as e:
        return _error(str(e), 2)
    except ConvergenceError as e:
        return _error(f"the fit failed: {e}", 1)
    except GlmmfastError as e:  # FormulaError, DataError, FamilyError: the user's input
        return _error(str(e), 2)
    except ValueError as e:  # invalid argument values (e.g. an nAGQ glmer does not take)
        return _error(str(e), 2)
    except (RuntimeError, np.linalg.LinAlgError, FloatingPointError) as e:
        return _error(f"the fit failed: {e}", 1)
    if args.json:
        print(json.dumps(fit_document(fit), indent=2))
    else:
        print(fit.summary_text(), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

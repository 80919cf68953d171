"""R's number formatting: ``format()``/formatReal, ``signif``-style rounding, ``zapsmall``, ``format.pval``.

Interface
---------
r_format(xs, digits=7, nsmall=0, na="NA") -> list of str
    R's ``format(x, digits=, nsmall=)`` of a numeric vector (common width,
    fixed or scientific notation as R chooses).
r_format_num(x, digits=7) -> str      one number as ``cat()``/``format()`` print it
r_format_int(xs) -> list of str       ``format()`` of an integer vector
r_round(x, digits) -> float           R's ``round``
zapsmall(xs, digits) -> list          R's ``zapsmall``
format_pval(pv, digits, eps) -> list  R's ``format.pval`` (``< 2.2e-16``)
WIDTH, R_DIGITS                       R's getOption("width") and getOption("digits")

Re-implemented from the documented behaviour of R's formatReal/encodeReal
and scientific() (R 4.2).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Iterable, Sequence

__all__ = ["WIDTH", "R_DIGITS", "r_format", "r_format_num", "r_format_int", "r_round", "zapsmall", "format_pval"]

#: R's getOption("width")
WIDTH = 80
#: R's getOption("digits")
R_DIGITS = 7
#: .Machine$double.eps
_EPS = 2.220446049250313e-16


def _scientific(x: float, digits: int) -> tuple[int, int, int]:
    """R's ``scientific()``: sign, decimal exponent and significant digits.

    Parameters
    ----------
    x : float
        Finite value.
    digits : int
        Number of significant digits to round to.

    Returns
    -------
    tuple of int
        ``(neg, kpower, nsig)``: whether ``x < 0``, the base-10 exponent of
        ``x`` after rounding to ``digits`` significant digits, and the number
        of significant digits left once trailing zeros are dropped.
    """
    neg = 1 if x < 0 else 0
    if x == 0:
        return 0, 0, 1
    d = Decimal(abs(x))
    kp = d.adjusted()  # floor(log10(|x|)), exact
    q = d.scaleb(digits - 1 - kp).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    if q >= Decimal(10) ** digits:  # rounding carried into a new digit
        kp += 1
        q = d.scaleb(digits - 1 - kp).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    s = str(int(q)).rstrip("0")
    nsig = max(1, len(s))
    return neg, kp, nsig


class _Fmt:
    """Common format of a numeric vector (width, decimals, exponent digits)."""

    __slots__ = ("w", "d", "e")

    def __init__(self, w: int, d: int, e: int) -> None:
        self.w, self.d, self.e = w, d, e


def _format_real_info(xs: Iterable[float], digits: int = R_DIGITS,
                      nsmall: int = 0, na_width: int = 2) -> _Fmt:
    """R's ``formatReal``: common width/decimals/notation of a vector.

    Parameters
    ----------
    xs : iterable of float
        Values (NaN counts as NA).
    digits : int
        Minimum number of significant digits to show for every element.
    nsmall : int
        Minimum number of decimals in fixed notation (``format(nsmall=)``).
    na_width : int
        Width of the NA string.

    Returns
    -------
    _Fmt
        ``w`` total width, ``d`` decimals (or mantissa decimals in scientific
        notation), ``e`` exponent digits minus one (0 = fixed notation).
    """
    neg = 0
    mxsl = rgt = mxe = -(10 ** 9)
    mne = 10 ** 9
    mxns = -(10 ** 9)
    mnl = 10 ** 9
    naflag = posinf = neginf = False
    any_finite = False
    for x in xs:
        x = float(x)
        if math.isnan(x):
            naflag = True
            continue
        if math.isinf(x):
            if x > 0:
                posinf = True
            else:
                neginf = True
            continue
        any_finite = True
        neg_i, kpower, nsig = _scientific(x, digits)
        left = kpower + 1
        sleft = neg_i + (1 if left <= 0 else left)
        right = nsig - left
        if neg_i:
            neg = 1
        rgt = max(rgt, right)
        mnl = min(mnl, left)
        mxsl = max(mxsl, sleft)
        mxns = max(mxns, nsig)
        mxe = max(mxe, kpower)
        mne = min(mne, kpower)
    if any_finite:
        if rgt < 0:
            rgt = 0
        w_f = mxsl + rgt + (1 if rgt else 0)
        e = 2 if (mxe >= 100 or mne <= -99) else 1
        d = mxns - 1
        w = neg + (1 if d > 0 else 0) + d + 4 + e
        if w_f <= w:  # scipen = 0
            e = 0
            if nsmall > rgt:
                rgt = nsmall
                w_f = mxsl + rgt + (1 if rgt else 0)
            d = rgt
            w = w_f
    else:
        w = d = e = 0
    if naflag:
        w = max(w, na_width)
    if posinf:
        w = max(w, 3)
    if neginf:
        w = max(w, 4)
    return _Fmt(w, d, e)


def _encode_real(x: float, fmt: _Fmt, na: str = "NA", pad: bool = True) -> str:
    """Encode one value with a common format (R's ``encodeReal``).

    Parameters
    ----------
    x : float
        Value to encode.
    fmt : _Fmt
        Format from :func:`_format_real_info`.
    na : str
        String used for NA.
    pad : bool
        Right-justify to ``fmt.w`` (False = trimmed).

    Returns
    -------
    str
        The encoded number.
    """
    x = float(x)
    if x == 0.0:
        x = 0.0  # R prints signed zeros without the sign
    if math.isnan(x):
        s = na
    elif math.isinf(x):
        s = "Inf" if x > 0 else "-Inf"
    elif fmt.e:
        s = "%.*e" % (fmt.d, x)
        mant, exp = s.split("e")
        sign, digs = exp[0], exp[1:].lstrip("0")
        digs = digs.rjust(fmt.e + 1, "0")
        s = mant + "e" + sign + digs
    else:
        s = "%.*f" % (fmt.d, x)
    return s.rjust(fmt.w) if pad else s


def r_format(xs: Sequence[float], digits: int = R_DIGITS, nsmall: int = 0,
             na: str = "NA") -> list[str]:
    """R's ``format(x, digits=, nsmall=)`` for a numeric vector.

    Parameters
    ----------
    xs : sequence of float
        Values.
    digits : int
        Significant digits.
    nsmall : int
        Minimum decimals in fixed notation.
    na : str
        NA string.

    Returns
    -------
    list of str
        Common-width strings.
    """
    fmt = _format_real_info(xs, digits, nsmall, na_width=len(na))
    return [_encode_real(x, fmt, na) for x in xs]


def r_format_num(x: float, digits: int = R_DIGITS) -> str:
    """Format a single number as ``cat()``/``format()`` would (trimmed)."""
    return r_format([x], digits)[0].strip()


def r_format_int(xs: Sequence[int]) -> list[str]:
    """R's ``format()`` of an integer vector (common width)."""
    s = [str(int(x)) for x in xs]
    w = max((len(t) for t in s), default=0)
    return [t.rjust(w) for t in s]


def r_round(x: float, digits: int) -> float:
    """R's ``round(x, digits)`` for finite doubles."""
    if not math.isfinite(x):
        return x
    return round(x, digits)


def zapsmall(xs: Sequence[float], digits: int) -> list[float]:
    """R's ``zapsmall(x, digits)``."""
    vals = [float(v) for v in xs]
    fin = [abs(v) for v in vals if math.isfinite(v)]
    if not fin:
        return vals
    mx = max(fin)
    if mx <= 0:
        return vals
    # R (< 4.4): round(x, max(0, digits - log10(mx))); round() takes the
    # nearest integer of a fractional 'digits'
    rd = int(math.floor(max(0.0, digits - math.log10(mx)) + 0.5))
    return [r_round(v, rd) for v in vals]


def format_pval(pv: Sequence[float], digits: int, eps: float = _EPS) -> list[str]:
    """R's ``format.pval(pv, digits, eps)``.

    Parameters
    ----------
    pv : sequence of float
        P-values (no NAs).
    digits : int
        Significant digits.
    eps : float
        Values below are shown as ``"<eps"``.

    Returns
    -------
    list of str
        Formatted p-values (not padded to a common width).
    """
    pv = [float(p) for p in pv]
    r = [""] * len(pv)
    is0 = [p < eps for p in pv]
    idx = [i for i, z in enumerate(is0) if not z]
    rr: list[str] = []
    if idx:
        vals = [pv[i] for i in idx]
        expo = [math.floor(math.log10(v if v > 0 else 1e-50)) for v in vals]
        fixp = [ex >= -3 or (ex == -4 and digits > 1) for ex in expo]
        out = [""] * len(vals)
        for flag in (True, False):
            sel = [j for j, f in enumerate(fixp) if f == flag]
            if sel:
                f = r_format([vals[j] for j in sel], digits)
                for j, s in zip(sel, f):
                    out[j] = s
        for i, s in zip(idx, out):
            r[i] = s
        rr = out
    if any(is0):
        dg = max(1, digits - 2)
        if idx:
            nc = max(len(s) for s in rr)
            if dg > 1 and dg + 6 > nc:
                dg = max(1, nc - 7)
            sep = "" if (dg == 1 and nc <= 6) else " "
        else:
            sep = "" if dg == 1 else " "
        s0 = "<" + sep + r_format_num(eps, dg)
        for i, z in enumerate(is0):
            if z:
                r[i] = s0
    return r


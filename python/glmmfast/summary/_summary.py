# glmmfast.summary._summary -- text formatting of model summaries exactly like R.
#
# This private module turns fitted-model result objects into the text that
# R prints for ``print(summary(fit))``:
#
#   format_glmer_summary(res) -> str   lme4 1.1-31 ``print.summary.merMod``
#                                      (glmer fits; also lmer fits, REML/ML)
#   format_glm_summary(res)   -> str   R 4.2 ``print.summary.glm``
#
# The returned string is what R writes to the console, including the final
# newline (``capture.output`` joined with "\n" equals ``out[:-1]``).
#
# ``res`` is duck-typed.  Attributes read by ``format_glmer_summary``:
#   method_title (approximation name, e.g. "Laplace Approximation"; a full
#   title starting with "Generalized"/"Linear" is used verbatim), family_name,
#   link_name, formula, data_name (None -> no "Data:" line), aic, bic, loglik,
#   df_resid, scaled_residuals, varcorr (DataFrame like R's
#   as.data.frame(VarCorr(fit))), ngroups (dict), nobs, fixef (Series), vcov
#   (DataFrame), messages (list[str], printed verbatim at the end), and,
#   optionally, reml (True/False for lmer fits; missing/None for glmer) and
#   reml_criterion (defaults to -2 * loglik).  The "deviance" column of the
#   AIC table is lme4's devCrit, i.e. -2 * loglik, so ``res.deviance`` is not
#   read.
# Attributes read by ``format_glm_summary``: formula, family_name, link_name,
#   data_name (optional), deviance_residuals, coef, vcov, dispersion,
#   null_deviance, df_null, deviance, df_resid, aic, iterations.
#
# The helpers below re-implement R's formatting primitives (formatReal /
# format(), print.default for named vectors and character matrices, cat(fill=),
# strwrap, abbreviate, zapsmall, format.pval, printCoefmat, formula deparse
# with width.cutoff = 60) from their documented behaviour.
"""Format GLMM/GLM summaries as R (lme4 1.1-31 / R 4.2) prints them."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from glmmfast.formula._formula import expand_double_verts  # absolute: tests load this file on its own

__all__ = ["format_glmer_summary", "format_glm_summary", "PrintsSummary"]

#: R's getOption("width")
_WIDTH = 80
#: R's getOption("digits")
_RDIGITS = 7
#: .Machine$double.eps
_EPS = 2.220446049250313e-16
_SIGNIF_LEGEND = "0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 \u2018.\u2019 0.1 \u2018 \u2019 1"


# ---------------------------------------------------------------------------
# Number formatting (R's formatReal / encodeReal)
# ---------------------------------------------------------------------------

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


def _format_real_info(xs: Iterable[float], digits: int = _RDIGITS,
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


def _r_format(xs: Sequence[float], digits: int = _RDIGITS, nsmall: int = 0,
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


def _r_format_num(x: float, digits: int = _RDIGITS) -> str:
    """Format a single number as ``cat()``/``format()`` would (trimmed)."""
    return _r_format([x], digits)[0].strip()


def _r_format_int(xs: Sequence[int]) -> list[str]:
    """R's ``format()`` of an integer vector (common width)."""
    s = [str(int(x)) for x in xs]
    w = max((len(t) for t in s), default=0)
    return [t.rjust(w) for t in s]


def _r_round(x: float, digits: int) -> float:
    """R's ``round(x, digits)`` for finite doubles."""
    if not math.isfinite(x):
        return x
    return round(x, digits)


def _zapsmall(xs: Sequence[float], digits: int) -> list[float]:
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
    return [_r_round(v, rd) for v in vals]


def _format_pval(pv: Sequence[float], digits: int, eps: float = _EPS) -> list[str]:
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
                f = _r_format([vals[j] for j in sel], digits)
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
        s0 = "<" + sep + _r_format_num(eps, dg)
        for i, z in enumerate(is0):
            if z:
                r[i] = s0
    return r


# ---------------------------------------------------------------------------
# Printing primitives (print.default, cat(fill=), strwrap, abbreviate)
# ---------------------------------------------------------------------------

def _cat_fill(items: Sequence[str], sep: str = " ", width: int = _WIDTH) -> str:
    """Emulate ``cat(..., sep=sep, fill=width)``; returns text ending in "\\n".

    Parameters
    ----------
    items : sequence of str
        The (already flattened) character items.
    sep : str
        Separator.
    width : int
        Fill width.

    Returns
    -------
    str
        The printed text.
    """
    out: list[str] = []
    cur = 0
    sepw = len(sep)
    for k, it in enumerate(items):
        if k > 0:
            out.append(sep)
        if cur > 0 and cur + len(it) + sepw > width:
            out.append("\n")
            cur = 0
        out.append(it)
        cur += len(it) + sepw
    if cur:
        out.append("\n")
    return "".join(out)


def _strwrap(text: str, width: int, indent: int = 0, exdent: int = 0) -> list[str]:
    """R's ``strwrap`` for a single paragraph.

    Parameters
    ----------
    text : str
        Text to wrap.
    width : int
        Lines are wrapped to have fewer than ``width`` characters.
    indent, exdent : int
        Indentation of the first / following lines.

    Returns
    -------
    list of str
        Wrapped lines.
    """
    tokens = [(m.group(1), m.group(2)) for m in re.finditer(r"([^ \t\n]+)([ \t\n]*)", text)]
    words = [w for w, _ in tokens]
    if not words:
        return [""]
    # double spaces after sentence ends are preserved (R's strwrap), single ones are not
    lens = []
    for i, (w, gap) in enumerate(tokens):
        extra = 1 if (re.search(r"[.?!][)\"']*$", w) and i < len(words) - 1 and len(gap) >= 2) else 0
        lens.append(len(w) + 1 + extra)
    lines: list[str] = []
    max_len = width - indent
    pos = 0
    first = True
    while pos < len(words):
        cum = 0
        k = 0
        for j in range(pos, len(words)):
            if cum + lens[j] <= max_len:
                cum += lens[j]
                k += 1
            else:
                break
        k = max(k, 1)
        chunk = words[pos:pos + k]
        line = ""
        for i, w in enumerate(chunk):
            line += w
            if i < len(chunk) - 1:
                line += "  " if lens[pos + i] - len(w) == 2 else " "
        lines.append(" " * (indent if first else exdent) + line)
        if first:
            first = False
            max_len = width - exdent
        pos += k
    return lines


def _abbrev_one(name: str, minlength: int) -> str:
    """R's C-level ``abbreviate`` (``stripchars``) for one ASCII string."""
    buf = list(name) + ["\0", "\0"]

    def slen() -> int:
        return buf.index("\0")

    def delete(i: int) -> None:
        n = slen()
        # memmove(buf+i, buf+i+1, strlen(buf+i+1)+1)
        buf[i:n] = buf[i + 1:n + 1]
        buf.insert(n, "\0")
        del buf[n + 1]

    def isspace(c: str) -> bool:
        return c in " \t\n\r\f\v"

    def firstchar(i: int) -> bool:
        return isspace(buf[i - 1])

    def lastchar(i: int) -> bool:
        return (not isspace(buf[i - 1])) and (buf[i + 1] == "\0" or isspace(buf[i + 1]))

    def vowel(i: int) -> bool:
        return buf[i] in "aeiou"

    def islower(c: str) -> bool:
        return "a" <= c <= "z"

    if len(name) < minlength:
        return name
    upper = len(name) - 1
    nspace = 0
    done = False
    j = 1
    for i in range(upper, 0, -1):
        if isspace(buf[i]):
            if j:
                buf[i] = "\0"
            else:
                nspace += 1
        else:
            j = 0
        if slen() - nspace <= minlength:
            done = True
            break
    if not done:
        passes = [
            lambda i: vowel(i) and lastchar(i),
            lambda i: vowel(i) and not firstchar(i),
            lambda i: islower(buf[i]) and lastchar(i),
            lambda i: islower(buf[i]) and not firstchar(i),
        ]
        for test in passes:
            for i in range(upper, 0, -1):
                if test(i):
                    delete(i)
                if slen() - nspace <= minlength:
                    done = True
                    break
            if done:
                break
    if not done:
        upper = slen() - 1
        for i in range(upper, 0, -1):
            if not firstchar(i) and not isspace(buf[i]):
                delete(i)
            if slen() - nspace <= minlength:
                break
    n = slen()
    if n > minlength:
        for i in range(n - 1, 0, -1):
            if isspace(buf[i]):
                delete(i)
    return "".join(buf[:slen()])


def _abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's ``abbreviate(names, minlength)`` (method "left.kept", not strict).

    Parameters
    ----------
    names : sequence of str
        Names to abbreviate.
    minlength : int
        Minimum length of the abbreviations.

    Returns
    -------
    list of str
        Abbreviations, unique where the inputs are unique.
    """
    old = [str(n).strip(" ") for n in names]
    uniq: list[str] = []
    for n in old:
        if n not in uniq:
            uniq.append(n)
    x = list(uniq)
    dup2 = [True] * len(uniq)
    ml = minlength
    while True:
        for i, flag in enumerate(dup2):
            if flag:
                x[i] = _abbrev_one(uniq[i], ml)
        seen: set[str] = set()
        dups = []
        for v in x:
            dups.append(v in seen)
            seen.add(v)
        if not any(dups) or ml > 1000:
            break
        ml += 1
        dupvals = {v for v, d in zip(x, dups) if d}
        dup2 = [d or (v in dupvals) for v, d in zip(x, dups)]
    m = dict(zip(uniq, x))
    return [m[n] for n in old]


def _print_named_vector(names: Sequence[str], values: Sequence[str],
                        gap: int = 1, width: int = _WIDTH) -> str:
    """``print.default`` of a named vector whose values are already encoded.

    Parameters
    ----------
    names : sequence of str
        Element names.
    values : sequence of str
        Encoded values (right-justified to a common width here).
    gap : int
        ``print.gap``.
    width : int
        Line width.

    Returns
    -------
    str
        Printed text (ending in a newline).
    """
    w = max([len(s) for s in values] + [len(s) for s in names] + [0])
    per = max(1, width // (w + gap))
    out = []
    for start in range(0, len(values), per):
        nm = names[start:start + per]
        vl = values[start:start + per]
        out.append("".join(s.rjust(w) + " " * gap for s in nm))
        out.append("".join(s.rjust(w) + " " * gap for s in vl))
    return "\n".join(out) + "\n"


def _print_char_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str],
                       colnames: Sequence[str], right: bool = False,
                       width: int = _WIDTH, gap: int = 1) -> str:
    """``print(<character matrix>, quote = FALSE, right = right)``.

    Parameters
    ----------
    cells : sequence of sequence of str
        Row-major cell strings.
    rownames, colnames : sequence of str
        Dimnames.
    right : bool
        Right-justify cells and column labels.
    width : int
        Line width; wider matrices are printed in column blocks.
    gap : int
        Spaces between columns.

    Returns
    -------
    str
        Printed text (ending in a newline).
    """
    nr = len(rownames)
    nc = len(colnames)
    rlabw = max([len(r) for r in rownames] + [0])
    colw = []
    for j in range(nc):
        colw.append(max([len(colnames[j])] + [len(cells[i][j]) for i in range(nr)]))
    out: list[str] = []
    jmin = 0
    while jmin < nc:
        wsum = rlabw
        jmax = jmin
        while True:
            wsum += colw[jmax] + gap
            jmax += 1
            if not (jmax < nc and wsum + colw[jmax] + gap < width):
                break
        line = " " * rlabw
        for j in range(jmin, jmax):
            lab = colnames[j]
            line += " " * gap + (lab.rjust(colw[j]) if right else lab.ljust(colw[j]))
        out.append(line)
        for i in range(nr):
            line = rownames[i].ljust(rlabw)
            for j in range(jmin, jmax):
                c = cells[i][j]
                line += " " * gap + (c.rjust(colw[j]) if right else c.ljust(colw[j]))
            out.append(line)
        jmin = jmax
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Formula deparsing (R's deparse with width.cutoff = 60)
# ---------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<name>`[^`]+`|[A-Za-z.][A-Za-z0-9._]*)"
    r"|(?P<op>%[^%]*%|\|\||&&|==|!=|<=|>=|<-|[-+*/^~|&:()!<>=,\[\]$@]))"
)

# binary operators: (precedence, right-assoc, spaced) -- R's PREC_* / PP_*
_BINOPS = {
    "~": (2, False, True),
    "||": (4, False, True), "|": (4, False, True),
    "&&": (5, False, True), "&": (5, False, True),
    "==": (7, False, True), "!=": (7, False, True), "<": (7, False, True),
    ">": (7, False, True), "<=": (7, False, True), ">=": (7, False, True),
    "+": (8, False, True), "-": (8, False, True),
    "*": (9, False, True), "/": (9, False, False),
    "%%": (10, False, True),
    ":": (11, False, False),
    "^": (13, True, False),
}


class _Node:
    """Tiny R expression tree for deparsing formulas."""

    __slots__ = ("kind", "val", "kids", "names")

    def __init__(self, kind: str, val: str = "", kids: Optional[list] = None,
                 names: Optional[list] = None) -> None:
        self.kind, self.val = kind, val
        self.kids = kids or []
        self.names = names or []


class _Parser:
    """Recursive-descent parser for the subset of R used in model formulas."""

    def __init__(self, text: str) -> None:
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError("cannot tokenize formula")
            kind = m.lastgroup
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def peek(self) -> Optional[tuple[str, str]]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, val: str) -> None:
        t = self.peek()
        if t is None or t[1] != val:
            raise ValueError("unexpected token")
        self.i += 1

    def parse(self) -> _Node:
        node = self.expr(0)
        if self.peek() is not None:
            raise ValueError("trailing tokens")
        return node

    @staticmethod
    def _binop(tok: tuple[str, str]) -> Optional[str]:
        if tok[0] != "op":
            return None
        v = tok[1]
        if v.startswith("%"):
            return v
        return v if v in _BINOPS else None

    def expr(self, minprec: int) -> _Node:
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] in ("-", "+", "~", "!"):
            self.take()
            prec = {"~": 2, "!": 6}.get(t[1], 12)
            operand = self.expr(prec)
            left = _Node("unary", t[1], [operand])
        else:
            left = self.primary()
        while True:
            t = self.peek()
            if t is None:
                break
            op = self._binop(t)
            if op is None:
                break
            prec, rassoc, _ = _BINOPS.get(op, _BINOPS["%%"])
            if prec < minprec or (prec == minprec and not rassoc):
                break
            self.take()
            right = self.expr(prec if rassoc else prec + 1)
            left = _Node("bin", op, [left, right])
        return left

    def primary(self) -> _Node:
        t = self.take()
        if t[0] == "op" and t[1] == "(":
            inner = self.expr(0)
            self.expect(")")
            node = _Node("paren", "(", [inner])
        elif t[0] in ("num", "str", "name"):
            node = _Node("atom", t[1])
        else:
            raise ValueError("unexpected token")
        while self.peek() is not None and self.peek()[1] == "(":
            self.take()
            args: list[_Node] = []
            names: list[str] = []
            if self.peek() is not None and self.peek()[1] == ")":
                self.take()
            else:
                while True:
                    nm = ""
                    if (self.i + 1 < len(self.toks) and self.toks[self.i][0] == "name"
                            and self.toks[self.i + 1][1] == "="):
                        nm = self.take()[1]
                        self.take()
                    args.append(self.expr(0))
                    names.append(nm)
                    t2 = self.take()
                    if t2[1] == ")":
                        break
                    if t2[1] != ",":
                        raise ValueError("bad call")
            node = _Node("call", "", [node] + args, names)
        return node


class _Deparser:
    """Emulates R's deparse2buff line breaking (cutoff 60, 4-space indent)."""

    def __init__(self, cutoff: int = 60) -> None:
        self.cutoff = cutoff
        self.lines: list[str] = []
        self.buf = ""
        self.indent = 0

    def write(self, s: str) -> None:
        if not self.buf and self.indent:
            self.buf = "".join("    " if i < 4 else "  " for i in range(self.indent))
        self.buf += s

    def writeline(self) -> None:
        self.lines.append(self.buf)
        self.buf = ""

    def linebreak(self, state: list[bool]) -> None:
        if len(self.buf) > self.cutoff:
            if not state[0]:
                state[0] = True
                self.indent += 1
            self.writeline()

    def dep(self, n: _Node) -> None:
        if n.kind == "atom":
            self.write(n.val)
        elif n.kind == "paren":
            self.write("(")
            self.dep(n.kids[0])
            self.write(")")
        elif n.kind == "unary":
            self.write(n.val)
            self.dep(n.kids[0])
        elif n.kind == "bin":
            spaced = _BINOPS.get(n.val, (0, False, True))[2]
            self.dep(n.kids[0])
            if spaced:
                state = [False]
                self.write(" " + n.val + " ")
                self.linebreak(state)
                self.dep(n.kids[1])
                if state[0]:
                    self.indent -= 1
            else:
                self.write(n.val)
                self.dep(n.kids[1])
        elif n.kind == "call":
            self.dep(n.kids[0])
            self.write("(")
            state = [False]
            for k, (a, nm) in enumerate(zip(n.kids[1:], n.names)):
                if nm:
                    self.write(nm + " = ")
                self.dep(a)
                if k < len(n.names) - 1:
                    self.write(", ")
                    self.linebreak(state)
            self.write(")")
            if state[0]:
                self.indent -= 1

    def run(self, n: _Node) -> list[str]:
        self.dep(n)
        self.writeline()
        return self.lines


def _deparse(text: str) -> list[str]:
    """Deparse an R expression given as text like R's ``deparse()``.

    Falls back to the stripped input on anything the small parser does not
    understand.

    Parameters
    ----------
    text : str
        Expression (e.g. a model formula).

    Returns
    -------
    list of str
        Deparsed lines (one element unless longer than the cutoff).
    """
    try:
        return _Deparser().run(_Parser(text).parse())
    except (ValueError, IndexError):
        return [" ".join(text.split())]


# ---------------------------------------------------------------------------
# printCoefmat
# ---------------------------------------------------------------------------

def _print_coefmat(rownames: Sequence[str], est: Sequence[float], se: Sequence[float],
                   stat: Sequence[float], pval: Optional[Sequence[float]],
                   colnames: Sequence[str], digits: int, zap_stat: bool,
                   df: Optional[Sequence[float]] = None) -> str:
    """R's ``printCoefmat`` for the usual Estimate/SE/stat[/p] matrix.

    Parameters
    ----------
    rownames : sequence of str
        Coefficient names.
    est, se, stat : sequence of float
        Estimates, standard errors and test statistics.
    pval : sequence of float or None
        P-values (None: no p-value column).
    colnames : sequence of str
        Column headers (3 or 4).
    digits : int
        ``digits`` argument.
    zap_stat : bool
        Use ``zap.ind = 3`` (zapsmall the statistic column).
    df : sequence of float, optional
        A degrees-of-freedom column between the standard error and the
        statistic (lmerTest's summary), formatted with the estimates and
        standard errors as printCoefmat does.

    Returns
    -------
    str
        Printed table plus significance legend (ending in a newline).
    """
    n = len(rownames)
    dig_tst = max(1, min(5, digits - 1))
    est = [float(v) for v in est]
    se = [float(v) for v in se]
    stat = [float(v) for v in stat]
    if zap_stat:
        stat = _zapsmall(stat, digits)
    # coefficient and SE columns (and df: printCoefmat's default cs.ind is every
    # column before the statistic) formatted together
    dfv = [float(v) for v in df] if df is not None else []
    cs_cols = (est, se, dfv) if dfv else (est, se)
    ts = len(cs_cols)  # the statistic's column
    cells = [[""] * (ts + 1) for _ in range(n)]
    cs = [v for col in cs_cols for v in col]
    acs = [abs(v) for v in cs if math.isfinite(v) and v != 0]
    if any(math.isfinite(v) for v in cs):
        if acs:
            digmin = [1 + math.floor(math.log10(min(acs))), 1 + math.floor(math.log10(max(acs)))]
        else:
            digmin = [1, 1]
        rd = max(1, digits - digmin[0], digits - digmin[1])
        f = _r_format([_r_round(v, rd) for v in cs], digits)
        for i in range(n):
            for j in range(ts):
                cells[i][j] = f[j * n + i]
    # statistic column
    f = _r_format([_r_round(v, dig_tst) for v in stat], digits)
    for i in range(n):
        cells[i][ts] = f[i]
    # values that are non-zero but display as zero
    for j, col in enumerate(cs_cols):
        for i in range(n):
            v = col[i]
            if math.isnan(v):
                continue
            try:
                shown0 = float(cells[i][j]) == 0
            except ValueError:
                shown0 = False
            if (v == 0) != shown0:
                cells[i][j] = _r_format([v], max(1, digits - 1))[0]
    for i in range(n):
        for j, col in enumerate(cs_cols + (stat,)):
            if math.isnan(col[i]):
                cells[i][j] = "NA"
    cols = list(colnames)
    stars_shown = False
    if pval is not None:
        pv = [float(p) for p in pval]
        ok = [not math.isnan(p) for p in pv]
        pcol = ["NA"] * n
        okv = [p for p, o in zip(pv, ok) if o]
        if okv:
            f = _format_pval(okv, dig_tst)
            it = iter(f)
            for i in range(n):
                if ok[i]:
                    pcol[i] = next(it)
            stars_shown = any(p < 0.1 for p in okv)
        for i in range(n):
            cells[i].append(pcol[i])
        if stars_shown:
            sym = []
            for p in pv:
                if math.isnan(p):
                    sym.append("")
                elif p <= 0.001:
                    sym.append("***")
                elif p <= 0.01:
                    sym.append("**")
                elif p <= 0.05:
                    sym.append("*")
                elif p <= 0.1:
                    sym.append(".")
                else:
                    sym.append(" ")
            sw = max(len(s) for s in sym)
            for i in range(n):
                cells[i].append(sym[i].ljust(sw))
            cols.append("")
    out = _print_char_matrix(cells, list(rownames), cols, right=True)
    if stars_shown:
        out += "---\n" + _cat_fill(["Signif. codes:  ", _SIGNIF_LEGEND], sep="",
                                   width=_WIDTH + 4)
    return out


def _coef_table(names: Sequence[str], est: np.ndarray, se: np.ndarray, digits: int,
                stat_letter: str, pvalues: bool, df: Optional[float],
                zap_stat: bool) -> str:
    """Build statistic/p-values and print the coefficient matrix.

    Parameters
    ----------
    names : sequence of str
        Coefficient names.
    est, se : ndarray
        Estimates and standard errors.
    digits : int
        Digits for :func:`_print_coefmat`.
    stat_letter : str
        "z" or "t".
    pvalues : bool
        Add the ``Pr(>|.|)`` column.
    df : float or None
        Degrees of freedom for t p-values (None: normal reference).
    zap_stat : bool
        Passed to :func:`_print_coefmat`.

    Returns
    -------
    str
        Printed table.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    cols = ["Estimate", "Std. Error", f"{stat_letter} value"]
    pv = None
    if pvalues:
        if df is None:
            pv = [math.erfc(abs(z) / math.sqrt(2.0)) if not math.isnan(z) else float("nan")
                  for z in stat]
        else:
            from scipy import stats as _st
            pv = [float(2 * _st.t.sf(abs(z), df)) if not math.isnan(z) else float("nan")
                  for z in stat]
        # normal p-values are labelled z even beside t values (lme4's glmer
        # with a dispersion: "t value  Pr(>|z|)")
        cols.append("Pr(>|z|)" if df is None else f"Pr(>|{stat_letter}|)")
    return _print_coefmat(list(names), list(est), list(se), list(stat), pv, cols,
                          digits, zap_stat)


# ---------------------------------------------------------------------------
# lme4 sections
# ---------------------------------------------------------------------------

def _method_title_lines(mtit: str, cls: str) -> str:
    """lme4's ``.prt.methTit``."""
    if len(mtit) + 5 + len(cls) > _WIDTH:
        lines = _strwrap(mtit, width=_WIDTH - 2, exdent=2)
        return _cat_fill(lines + [" [", cls, "]"], sep="")
    return "%s ['%s']\n" % (mtit, cls)


def _null_str(v: Any) -> str:
    """'' for None/NaN, else str(v)."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    return str(v)


def _format_varcorr(vc: pd.DataFrame, digits: int, comp: Sequence[str] = ("Variance", "Std.Dev."),
                    heading: str = "Random effects:\n") -> str:
    """lme4's ``.prt.VC`` / ``formatVC``.

    Parameters
    ----------
    vc : DataFrame
        Columns grp, var1, var2, vcov, sdcor as ``as.data.frame(VarCorr())``.
    digits : int
        Digits for variances and standard deviations.
    comp : sequence of str
        The columns: "Variance" and/or "Std.Dev." (summary: both;
        ``print(VarCorr(fit))`` and ``print(fit)``: "Std.Dev." only).
    heading : str
        Text before the table.

    Returns
    -------
    str
        The table after ``heading``.
    """
    groups: list[str] = []
    terms: dict[str, list[str]] = {}
    sds: dict[str, list[float]] = {}
    cors: dict[str, dict[tuple[str, str], float]] = {}
    resid_sd: Optional[float] = None
    for row in vc.itertuples(index=False):
        grp = str(row.grp)
        v1, v2 = _null_str(row.var1), _null_str(row.var2)
        if grp == "Residual" and not v1:
            resid_sd = float(row.sdcor)
            continue
        if grp not in terms:
            groups.append(grp)
            terms[grp], sds[grp], cors[grp] = [], [], {}
        if not v2:
            terms[grp].append(v1)
            sds[grp].append(float(row.sdcor))
        else:
            cors[grp][(v1, v2)] = float(row.sdcor)
            cors[grp][(v2, v1)] = float(row.sdcor)
    gnames: list[str] = []
    names: list[str] = []
    sd_all: list[float] = []
    compact = vc.attrs.get("compact", {})
    for g in groups:
        if compact.get(g, (None, None, False))[2]:
            terms[g], sds[g] = terms[g][:1], sds[g][:1]  # glmmTMB: one sd row for ar1
        for k, t in enumerate(terms[g]):
            gnames.append(g if k == 0 else "")
            names.append(t)
            sd_all.append(sds[g][k])
    if resid_sd is not None:
        gnames.append("Residual")
        names.append("")
        sd_all.append(resid_sd)
    formatted = {"Variance": _r_format([s * s for s in sd_all], digits), "Std.Dev.": _r_format(sd_all, digits)}
    colnames = ["Groups", "Name", *comp]
    cells = [[gnames[i], names[i], *(formatted[c][i] for c in comp)] for i in range(len(names))]
    maxlen = max([2 if g in compact else len(terms[g]) for g in groups] + [1])
    if maxlen > 1:
        dig = max(2, digits - 2)
        corr_rows: list[list[str]] = []
        for g in groups:
            tt = terms[g]
            p = len(tt)
            if g in compact:  # glmmTMB: "0.73 (ar1)" on the term's first row
                name, rho = compact[g][:2]
                first = _r_format([_r_round(rho, dig)], _RDIGITS, nsmall=dig)[0] + f" ({name})"
                corr_rows.extend([[first] + [""] * (maxlen - 1)] + [[""] * maxlen for _ in range(p - 1)])
                continue
            mat = [[1.0 if i == j else cors[g].get((tt[i], tt[j]), float("nan"))
                    for j in range(p)] for i in range(p)]
            flat = _r_format([_r_round(v, dig) for r in mat for v in r], _RDIGITS, nsmall=dig)
            for i in range(p):
                row = [flat[i * p + j] if j < i else "" for j in range(p)]
                corr_rows.append(row + [""] * (maxlen - p))
        corr_rows = [r[:maxlen - 1] for r in corr_rows]
        while len(corr_rows) < len(cells):
            corr_rows.append([""] * (maxlen - 1))
        for i in range(len(cells)):
            cells[i].extend(corr_rows[i])
        colnames += ["Corr"] + [""] * (maxlen - 2)
    return heading + _print_char_matrix(cells, [""] * len(cells), colnames)


def _cor_fixef_block(names: Sequence[str], vcov: np.ndarray) -> str:
    """"Correlation of Fixed Effects" block (empty string when p < 2)."""
    p = len(names)
    if p < 2 or p > 20:
        return ""
    sd = np.sqrt(np.diag(vcov))
    cor = vcov / np.outer(sd, sd)
    np.fill_diagonal(cor, 1.0)
    flat = _r_format([_r_round(float(v), 3) for v in cor.T.ravel()], _RDIGITS, nsmall=3)
    # flat is column-major; cell (i, j) = flat[j * p + i]
    rns = _abbreviate(names, 11)
    cns = _abbreviate(names, 6)
    cells = [[flat[j * p + i] if i > j else "" for j in range(p - 1)] for i in range(1, p)]
    return "\nCorrelation of Fixed Effects:\n" + _print_char_matrix(
        cells, rns[1:], cns[:p - 1])


def _named_quantiles(x: np.ndarray, digits: int, gap: int) -> str:
    """Zapsmall-ed type-7 quantiles printed as a named vector."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0]) if x.size else np.full(5, np.nan)
    qz = _zapsmall(list(q), digits + 1)
    return _print_named_vector(["Min", "1Q", "Median", "3Q", "Max"],
                               _r_format(qz, digits), gap=gap)


def _mermod_header(res: Any) -> list[str]:
    """Title, family, formula and ``Data:`` lines (lme4's .prt.methTit, .prt.family, .prt.call)."""
    reml = getattr(res, "reml", None)
    is_lmm = reml is not None
    out: list[str] = []
    # ---- title
    if is_lmm:
        mtit = "Linear mixed model fit by " + ("REML" if reml else "maximum likelihood ")
        cls = "lmerMod"
    else:
        mt = str(getattr(res, "method_title", "Laplace Approximation")).strip()
        mt = " ".join(mt.split())
        if mt.startswith("Generalized") or mt.startswith("Linear"):
            mtit = mt
        else:
            if mt.startswith("(") and mt.endswith(")"):
                mt = mt[1:-1]
            mtit = "Generalized linear mixed model fit by maximum likelihood (" + mt + ")"
        cls = "glmerMod"
    out.append(_method_title_lines(mtit, cls))
    # ---- family
    if not is_lmm:
        fam = getattr(res, "family_name", None)
        if fam is not None:
            items = [" Family:", str(fam)]
            link = getattr(res, "link_name", None)
            if link is not None:
                items.append(" ( " + str(link) + " )")
            out.append(_cat_fill(items))
    # ---- call
    # lme4 stores (and prints) the formula with || expanded.
    out.append(_cat_fill(["Formula:"] + _deparse(expand_double_verts(str(res.formula)))))
    data_name = getattr(res, "data_name", None)
    if data_name is not None:
        out.append(_cat_fill(["   Data:", str(data_name)]))
    return out


def format_glmer_summary(res: Any) -> str:
    """Format a mixed-model fit like lme4's ``print(summary(fit))``.

    Parameters
    ----------
    res : object
        Duck-typed fit result; see the module header for the attributes read.
        ``res.reml`` (bool) marks an lmer fit; absent/None means glmer.

    Returns
    -------
    str
        The text R prints, ending with a newline.
    """
    digits = 4
    reml = getattr(res, "reml", None)
    is_lmm = reml is not None
    out = _mermod_header(res)
    out.append("\n")
    # ---- AIC table
    loglik = float(res.loglik)
    if is_lmm and reml:
        crit = getattr(res, "reml_criterion", None)
        crit = -2.0 * loglik if crit is None else float(crit)
        out.append(_cat_fill(["REML criterion at convergence:",
                              _r_format_num(_r_round(crit, 1))]))
    else:
        vals = [_r_round(float(res.aic), 1), _r_round(float(res.bic), 1),
                _r_round(loglik, 1), _r_round(-2.0 * loglik, 1),
                float(res.df_resid)]
        f = [s for s in _r_format(vals)]
        f[4] = _r_format_num(vals[4])
        out.append(_print_named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"],
                                       f, gap=1))
    out.append("\n")
    # ---- residuals
    out.append("Scaled residuals: \n")
    out.append(_named_quantiles(res.scaled_residuals, digits, gap=1))
    out.append("\n")
    # ---- random effects
    vc = res.varcorr
    if not isinstance(vc, pd.DataFrame):
        vc = pd.DataFrame(vc)
    out.append(_format_varcorr(vc, digits))
    ng = res.ngroups
    out.append(_cat_fill(["Number of obs: %d, groups: " % int(res.nobs),
                          "; ".join("%s, %d" % (k, int(v)) for k, v in ng.items())]))
    # ---- fixed effects
    fixef = res.fixef
    names = [str(n) for n in fixef.index]
    est = np.asarray(fixef, dtype=float)
    if len(names):
        vcov = np.asarray(pd.DataFrame(res.vcov).loc[fixef.index, fixef.index], dtype=float)
        se = np.sqrt(np.diag(vcov))
        has_sc = bool(((vc["grp"].astype(str) == "Residual")).any()) if len(vc) else False
        letter = "t" if (is_lmm or has_sc) else "z"
        out.append("\nFixed effects:\n")
        out.append(_coef_table(names, est, se, digits, letter, pvalues=not is_lmm,
                               df=None, zap_stat=False))
        out.append(_cor_fixef_block(names, vcov))
    # ---- messages
    msgs = [str(m) for m in (getattr(res, "messages", None) or [])]
    if msgs:
        # lme4 heads its messages with the optimiser's own status line.
        optimizer = getattr(getattr(res, "optinfo", None), "optimizer", None)
        if optimizer:
            msgs.insert(0, f"optimizer ({optimizer}) convergence code: 0 (OK)")
        out.append("\n".join(msgs) + "\n\n")
    return "".join(out)


def format_mermod_print(res: Any) -> str:
    """Format a mixed-model fit like lme4's ``print(fit)`` (print.merMod: the short form).

    Parameters
    ----------
    res : object
        Duck-typed fit result, as :func:`format_glmer_summary`.

    Returns
    -------
    str
        The text R prints, ending with a newline.
    """
    digits = 4  # print.merMod: max(3, getOption("digits") - 3)
    out = _mermod_header(res)
    reml = getattr(res, "reml", None)
    if reml:
        out.append(_cat_fill(["REML criterion at convergence:", _r_format_num(_r_round(float(res.reml_criterion), 4), 7)]))
    else:
        loglik = float(res.loglik)
        vals = [_r_round(v, 4) for v in (float(res.aic), float(res.bic), loglik, -2.0 * loglik)] + [float(res.df_resid)]
        f = _r_format(vals)
        f[4] = _r_format_num(vals[4])
        out.append(_print_named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"], f, gap=1))
    vc = res.varcorr
    out.append(_format_varcorr(vc if isinstance(vc, pd.DataFrame) else pd.DataFrame(vc), digits, comp=("Std.Dev.",)))
    out.append(_cat_fill(["Number of obs: %d, groups: " % int(res.nobs),
                          "; ".join("%s, %d" % (k, int(v)) for k, v in res.ngroups.items())]))
    fixef = res.fixef
    if len(fixef):
        out.append("Fixed Effects:\n")
        out.append(_print_named_vector([str(n) for n in fixef.index],
                                       _r_format([float(v) for v in fixef], digits), gap=2))
    else:
        out.append("No fixed effect coefficients\n")
    msgs = list(getattr(res, "messages", None) or [])
    if msgs:  # lme4's .prt.warnings(summary = FALSE)
        optimizer = getattr(getattr(res, "optinfo", None), "optimizer", None) or "nloptwrap"
        out.append(f"optimizer ({optimizer}) convergence code: 0 (OK) ; 0 optimizer warnings; "
                   f"{len(msgs)} lme4 warnings \n")
    return "".join(out)


# ---------------------------------------------------------------------------
# glm
# ---------------------------------------------------------------------------

def format_glm_summary(res: Any) -> str:
    """Format a GLM fit like R 4.2's ``print(summary(glm_fit))``.

    Parameters
    ----------
    res : object
        Duck-typed fit result; see the module header for the attributes read.

    Returns
    -------
    str
        The text R prints (starting with an empty line, ending with an empty
        line).
    """
    digits = 4
    fam = str(res.family_name)
    data_name = getattr(res, "data_name", None) or "data"
    call = "glm(formula = %s, family = %s, data = %s)" % (
        " ".join(str(res.formula).split()), fam, data_name)
    out = ["\nCall:\n", "\n".join(_deparse(call)), "\n\n"]
    out.append("Deviance Residuals: \n")
    dr = np.asarray(res.deviance_residuals, dtype=float)
    df_resid = int(res.df_resid)
    if df_resid > 5:
        out.append(_named_quantiles(dr, digits, gap=2))
    else:
        xx = _zapsmall(list(dr), digits + 1)
        f = _r_format(xx, digits, na="")
        out.append(_print_named_vector([str(i + 1) for i in range(len(xx))], f, gap=2))
    coef = res.coef
    names = [str(n) for n in coef.index]
    if not len(names):
        out.append("\nNo Coefficients\n")
    else:
        est = np.asarray(coef, dtype=float)
        vcov = np.asarray(pd.DataFrame(res.vcov).reindex(index=coef.index,
                                                          columns=coef.index), dtype=float)
        se = np.sqrt(np.diag(vcov))
        nsing = int(np.sum(np.isnan(est)))
        if nsing:
            out.append("\nCoefficients: (%d not defined because of singularities)\n" % nsing)
        else:
            out.append("\nCoefficients:\n")
        fixed_disp = fam in ("poisson", "binomial")
        out.append(_coef_table(names, est, se, digits, "z" if fixed_disp else "t",
                               pvalues=True, df=None if fixed_disp else df_resid,
                               zap_stat=False))
    disp = _r_format_num(float(res.dispersion))
    out.append("\n(Dispersion parameter for %s family taken to be %s)\n\n" % (fam, disp))
    devs = _r_format([float(res.null_deviance), float(res.deviance)], max(5, digits + 1))
    dfs = _r_format_int([int(res.df_null), df_resid])
    for lab, d, k in zip(["    Null", "Residual"], devs, dfs):
        out.append(" ".join([lab + " deviance:", d, " on", k, " degrees of freedom\n"]))
    aic = float(res.aic)
    out.append("AIC: %s\n\nNumber of Fisher Scoring iterations: %d\n" % (
        _r_format_num(aic, max(4, digits + 1)), int(res.iterations)))
    out.append("\n")
    return "".join(out)


class PrintsSummary:
    """Mixin for fitted models: ``summary()`` prints ``summary_text()`` as R
    does, and ``str(fit)`` is that text."""

    def summary_text(self) -> str:  # pragma: no cover - provided by the model class
        raise NotImplementedError

    def summary(self) -> None:
        """Print the summary as R's ``summary(fit)`` does.

        Returns
        -------
        None
            The text is :meth:`summary_text`.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> fit.summary()  # doctest: +ELLIPSIS
        <BLANKLINE>
        Call:
        glm(formula = TICKS ~ YEAR, family = poisson, data = grouseticks)
        ...
        """
        print(self.summary_text(), end="")

    def __str__(self) -> str:
        return self.summary_text()


def format_lmertest_summary(res: Any, table: pd.DataFrame, ddf: str) -> str:
    """lmerTest's ``summary(fit, ddf=...)``: lme4's text with its title and a
    fixed-effects table with df and p-values (``table``: the fit's coef_table).
    """
    text = format_glmer_summary(res)
    names = [str(n) for n in res.fixef.index]
    est = np.asarray(res.fixef, dtype=float)
    vcov = np.asarray(pd.DataFrame(res.vcov).loc[res.fixef.index, res.fixef.index], dtype=float)
    lme4_table = _coef_table(names, est, np.sqrt(np.diag(vcov)), 4, "t", pvalues=False, df=None, zap_stat=False)
    t = table["t value"].to_numpy(dtype=float)
    new_table = _print_coefmat(names, list(table["Estimate"]), list(table["Std. Error"]), list(t),
                               list(table["Pr(>|t|)"]), ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"],
                               4, False, df=list(table["df"]))
    old_title = _method_title_lines("Linear mixed model fit by " + ("REML" if res.reml else "maximum likelihood "),
                                    "lmerMod")
    method = "Satterthwaite's" if ddf == "Satterthwaite" else "Kenward-Roger's"
    crit = "REML" if res.reml else "maximum likelihood "
    title = _method_title_lines(f"Linear mixed model fit by {crit}. t-tests use {method} method", "lmerModLmerTest")
    return title + text[len(old_title):].replace(lme4_table, new_table, 1)

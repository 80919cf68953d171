"""R's printing primitives: ``cat(fill=)``, ``strwrap``, ``abbreviate``, ``print.default`` of named vectors
and character matrices.

Interface
---------
cat_fill(items, sep=" ", width=80) -> str             ``cat(..., sep=, fill=)``
strwrap(text, width, indent=0, exdent=0) -> list      ``strwrap`` of one paragraph
abbreviate(names, minlength=4) -> list                ``abbreviate`` ("left.kept")
print_named_vector(names, values, gap=1) -> str       ``print`` of a named vector
print_char_matrix(cells, rownames, colnames, right=False) -> str
                                                      ``print(<character matrix>, quote = FALSE)``
named_quantiles(x, digits, gap) -> str                the five zapsmall-ed quantiles
                                                      (Min 1Q Median 3Q Max) summaries print
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ._r_format import WIDTH, r_format, zapsmall

__all__ = ["cat_fill", "strwrap", "abbreviate", "print_named_vector", "print_char_matrix", "named_quantiles"]


def cat_fill(items: Sequence[str], sep: str = " ", width: int = WIDTH) -> str:
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


def strwrap(text: str, width: int, indent: int = 0, exdent: int = 0) -> list[str]:
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


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
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


def print_named_vector(names: Sequence[str], values: Sequence[str],
                       gap: int = 1, width: int = WIDTH) -> str:
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


def print_char_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str],
                      colnames: Sequence[str], right: bool = False,
                      width: int = WIDTH, gap: int = 1) -> str:
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



def named_quantiles(x: np.ndarray, digits: int, gap: int) -> str:
    """Zapsmall-ed type-7 quantiles printed as a named vector."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0]) if x.size else np.full(5, np.nan)
    qz = zapsmall(list(q), digits + 1)
    return print_named_vector(["Min", "1Q", "Median", "3Q", "Max"],
                               r_format(qz, digits), gap=gap)


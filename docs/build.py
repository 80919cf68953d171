"""Build docs/api.md, glmmfast's API reference, from its numpydoc docstrings.

Run:  python3 docs/build.py            (writes docs/api.md)
      python3 docs/build.py --stdout   (prints it; tests/test_docs.py checks the file is current)
      python3 docs/build.py --check    (lists entries whose docstring lacks an Examples section)

Documents what the package exports: ``glmmfast.__all__`` (functions, result
classes with their public methods and properties, inherited ones included, exceptions), the modules
``families``, ``datasets`` and ``plots`` (their ``__all__``), and the command
line (``glmmfast.cli``).  Numpydoc sections become Markdown headings, parameter
lists become bullet lists and ``Examples`` become Python code blocks.  Needs
only the standard library and an importable glmmfast (installed, or a source
tree with a built extension).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:  # the installed package (CI, users); else the source tree with a built extension
    import glmmfast
except ImportError:
    sys.path.insert(0, str(HERE.parent / "python"))
    import glmmfast  # noqa: E402
from glmmfast import cli  # noqa: E402

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.M)
_LIST_SECTIONS = {"Parameters", "Returns", "Raises", "Attributes", "Yields", "Other Parameters"}


def _annotation(a) -> str:
    if a is inspect.Parameter.empty:
        return ""
    return a if isinstance(a, str) else inspect.formatannotation(a)


def signature(obj, name: str) -> str:
    """``name(a: int, b=1) -> T`` with annotations as written in the source."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    parts, star_done = [], False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        star_done |= p.kind is p.VAR_POSITIONAL
        ann = _annotation(p.annotation)
        text = prefix + p.name + (f": {ann}" if ann else "")
        if p.default is not p.empty:
            text += f" = {p.default!r}" if ann else f"={p.default!r}"
        parts.append(text)
    ret = _annotation(sig.return_annotation)
    return f"{name}({', '.join(parts)})" + (f" -> {ret}" if ret else "")


def docstring_markdown(doc: str | None) -> str:
    """A numpydoc docstring as Markdown."""
    doc = inspect.cleandoc(doc or "").strip()
    if not doc:
        return "*(no docstring)*\n"
    pieces = _SECTION.split(doc)
    out = [pieces[0].strip() + "\n"]
    for title, body in zip(pieces[1::2], pieces[2::2]):
        body = body.strip("\n")
        out.append(f"**{title}**\n")
        if title == "Examples":
            out.append(_examples(body))
        elif title in _LIST_SECTIONS:
            out.append(_definition_list(body))
        else:
            out.append(inspect.cleandoc(body) + "\n")
    return "\n".join(out)


def _definition_list(body: str) -> str:
    items: list[list[str]] = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            name, _, kind = line.partition(" : ")
            items.append([f"- `{name.strip()}`" + (f" : *{kind.strip()}*" if kind else ""), ""])
        elif items and line.strip():
            items[-1][1] += " " + line.strip()
    return "\n".join(head + (" —" + desc if desc else "") for head, desc in items) + "\n"


def _examples(body: str) -> str:
    return "```python\n" + inspect.cleandoc(body) + "\n```\n"


def _entry(obj, qualname: str, level: int = 3) -> str:
    kind = "class " if inspect.isclass(obj) else ""
    text = [f"{'#' * level} `{qualname}`\n", f"```python\n{kind}{signature(obj, qualname)}\n```\n",
            docstring_markdown(obj.__doc__)]
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        note = _inherits_note(obj, qualname)
        if note:
            text.append(note)
        for name, member in sorted(_public_members(obj).items()):
            if isinstance(member, property):
                text.append(f"{'#' * (level + 1)} `{qualname}.{name}` (property)\n")
                text.append(docstring_markdown(member.__doc__))
            elif inspect.isfunction(member):
                text.append(_entry(member, f"{qualname}.{name}", level + 1))
    return "\n".join(text)


def _documented_classes() -> set:
    from glmmfast import families
    return {getattr(m, n) for m, names in ((glmmfast, glmmfast.__all__), (families, families.__all__))
            for n in names if inspect.isclass(getattr(m, n))}


def _public_members(cls) -> dict:
    """Public methods and properties of a class, with those it inherits from glmmfast's
    undocumented base classes (MixedResult, PrintsSummary); a base class with its own entry
    (families.Family) is referred to instead, and what comes from Python or pandas is not ours."""
    members: dict = {}
    documented = _documented_classes()
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("glmmfast") or (klass is not cls and klass in documented):
            continue
        for n, m in vars(klass).items():
            # an undocumented override of a documented base's method is that method
            inherited_doc = any(n in vars(b) for b in cls.__mro__[1:] if b in documented)
            if not n.startswith("_") and not (inherited_doc and getattr(m, "__doc__", None) is None):
                members[n] = m
    return members


def _inherits_note(cls, qualname: str) -> str:
    bases = [b for b in cls.__mro__[1:] if b in _documented_classes()]
    return f"*Also has the methods of `{bases[0].__name__}`.*\n" if bases else ""


def _module_section(module: types.ModuleType, names: list[str], title: str) -> str:
    head = inspect.cleandoc(module.__doc__ or "").split("\n\n")[0]
    parts = [f"## {title}\n", head + "\n"]
    for n in names:
        obj = getattr(module, n)
        if inspect.ismodule(obj):
            continue
        parts.append(_entry(obj, f"{title}.{n}" if title != "glmmfast" else f"glmmfast.{n}"))
    return "\n".join(parts)


def build() -> str:
    from glmmfast import datasets, families, plots
    sections = [
        "# glmmfast API reference\n",
        "Generated by `python docs/build.py` from the docstrings; do not edit by hand.\n",
        _module_section(glmmfast, list(glmmfast.__all__), "glmmfast"),
        _module_section(families, list(families.__all__), "glmmfast.families"),
        _module_section(datasets, list(datasets.__all__), "glmmfast.datasets"),
        _module_section(plots, list(plots.__all__), "glmmfast.plots"),
        _module_section(cli, list(cli.__all__), "glmmfast.cli"),
    ]
    text = "\n".join(sections)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def without_examples(text: str) -> list[str]:
    """Functions, methods and classes of the reference whose docstring has no Examples section."""
    entries = re.split(r"\n(?=#{3,4} `)", text)
    return [e.split("`")[1] for e in entries
            if e.startswith("###") and "(property)" not in e.splitlines()[0] and "**Examples**" not in e]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stdout", action="store_true", help="print instead of writing docs/api.md")
    ap.add_argument("--check", action="store_true",
                    help="list the documented objects without an Examples section (exit 1 if any)")
    args = ap.parse_args(argv)
    text = build()
    if args.check:
        missing = without_examples(text)
        print("\n".join(f"no Examples: {m}" for m in missing) or "every entry has an example")
        return 1 if missing else 0
    if args.stdout:
        sys.stdout.write(text)
    else:
        (HERE / "api.md").write_text(text)
        print(f"wrote {HERE / 'api.md'} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

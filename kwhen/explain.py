"""Where a condition comes from, for people: the Makefile lines that name
an object, and why each free proposition in a condition is free."""

from __future__ import annotations

import re
from pathlib import Path

from kwhen.exceptions import KwhenError
from kwhen.logic.formula import Formula, var
from kwhen.logic.names import MODULE, is_cpp_unknown, is_free_cpp, is_make_unknown, make_unknown, symbol_of
from kwhen.logic.values import is_value_var
from kwhen.presence import Tree
from kwhen.readfile import read_text


def makefile_lines(tree: Tree, relpath: str) -> list:
    """The lines of the directory's Kbuild/Makefile that name the object
    built from `relpath`, for showing people where a condition comes from."""
    p = Path(relpath)
    obj = p.stem + ".o"
    out = []
    for directory in (p.parent, p.parent.parent):
        for name in ("Kbuild", "Makefile"):
            mk = tree.root / directory / name
            if not mk.is_file():
                continue
            pattern = re.compile(r"(^|[\s/])" + re.escape(obj if directory == p.parent else
                                                          f"{p.parent.name}/") + r"(\s|$|\\)")
            try:
                text = read_text(mk, what="Makefile")
            except KwhenError:
                continue
            for n, text_line in enumerate(text.splitlines(), 1):
                if pattern.search(text_line) and not text_line.lstrip().startswith("#"):
                    out.append(((directory / name).as_posix(), n, text_line.strip()))
            break  # Kbuild wins over Makefile, as in kbuild itself
        if out:
            break
    return out



def explain_unknowns(tree: Tree, f: Formula) -> list[str]:
    """Why each free proposition in `f` is free."""
    out = []
    space = tree.space
    for name in sorted(f.variables()):
        if symbol_of(name) in tree.model.symbols:
            continue
        if is_value_var(name) or (space.expand(var(name)) is not var(name) and
                                  space.decided(var(name))):
            continue        # a comparison Kconfig's values decide
        if name in tree.model.free:
            out.append(f"{name}: {tree.model.free[name]}")
        elif is_make_unknown(name):
            reason = next((r for p, l, r in tree.kbuild.unknowns if make_unknown(p, l) == name), "")
            out.append(f"{name}: a Makefile construct kwhen does not evaluate{': ' + reason if reason else ''}")
        elif is_cpp_unknown(name):
            out.append(f"{name}: a preprocessor condition too large for kwhen to keep exactly "
                       "(either value is assumed possible)")
        elif is_free_cpp(name):
            out.append(f"{name}: a macro that is not a Kconfig symbol (either value is assumed possible)")
        elif name == MODULE:
            out.append("MODULE: defined when the including file is compiled as a module")
        else:
            out.append(f"{name}: a comparison or value that Kconfig does not fix")
    return out

"""What U-Boot's phase macros mean in one phase, read from the tree.

``CONFIG_IS_ENABLED(FOO)`` is ``IS_ENABLED(CONFIG_FOO)`` in U-Boot proper,
``IS_ENABLED(CONFIG_SPL_FOO)`` in SPL, and so on; ``CONFIG_VAL(FOO)`` is the
phase's ``CONFIG_<prefix>FOO``. How include/linux/kconfig.h spells this
changed over the years (``_IS_SPL`` and a placeholder trick, then
``_CONFIG_PREFIX``, then xPL names), so kwhen does not keep a table: it
reads the header with the phase's macros defined (`kwhen.cpp.headers`)
and expands ``CONFIG_VAL(probe)`` with a small macro expander of its own
(object- and function-like macros, argument pre-expansion, ``##`` pasting,
``__VA_ARGS__`` with GNU's comma swallowing, rescanning with hide sets),
which is all these definitions use. The result names the prefix.
"""

from __future__ import annotations

import re

from kwhen.logic.formula import FALSE, TRUE

__all__ = ["config_prefix", "expand", "PROBE", "KCONFIG_HEADER"]

KCONFIG_HEADER = "include/linux/kconfig.h"
PROBE = "KWHEN_PROBE"
_MAX_STEPS = 2000
_TOKEN = re.compile(r"\.\.\.|##|[A-Za-z_]\w*|\d\w*|\S")
_IDENT = re.compile(r"[A-Za-z_]\w*")


class _GiveUp(Exception):
    pass


def _lex(text: str) -> list[str]:
    return _TOKEN.findall(text)


def config_prefix(env) -> str | None:
    """The prefix CONFIG_VAL adds in the context `env` (a
    `MacroEnvironment` that has read kconfig.h): "" in U-Boot proper,
    "SPL_" in SPL...; None when the header defines no CONFIG_VAL or kwhen
    cannot expand it."""
    if not env.values.get("CONFIG_VAL"):
        return None
    out = expand(env, f"CONFIG_VAL({PROBE})")
    if out is None or len(out) != 1:
        return None
    word = out[0]
    if not (word.startswith("CONFIG_") and word.endswith(PROBE)):
        return None
    return word[len("CONFIG_"):-len(PROBE)]


def expand(env, text: str) -> list[str] | None:
    """The tokens `text` expands to with the definitions in force in `env`
    (each macro's one definition whose guard is TRUE); None when a macro has
    no single definition known to be in force, or stringizes."""
    steps = [_MAX_STEPS]
    try:
        return [t for t, _h in _expand(env, [(t, frozenset()) for t in _lex(text)], steps)]
    except _GiveUp:
        return None


def _definition(env, name: str):
    """(params, body) of the one definition of `name` in force; None when
    nothing defines it; gives up when that depends on the configuration."""
    if name not in env.values:
        return None
    entries = [e for e in env.values[name] or () if e[0] is not FALSE]
    if env.values[name] is None:
        raise _GiveUp(name)
    if not entries:
        return None
    if len(entries) != 1 or entries[0][0] is not TRUE:
        raise _GiveUp(name)
    return entries[0][1], entries[0][2]


def _expand(env, tokens: list, steps: list) -> list:
    out = []
    tokens = list(tokens)
    while tokens:
        steps[0] -= 1
        if steps[0] < 0:
            raise _GiveUp("too many steps")
        text, hide = tokens.pop(0)
        if not _IDENT.fullmatch(text) or text in hide:
            out.append((text, hide))
            continue
        found = _definition(env, text)
        if found is None:
            out.append((text, hide))
            continue
        params, body = found
        if params is None:
            tokens[:0] = [(t, hide | {text}) for t in _lex(body)]
            continue
        if not tokens or tokens[0][0] != "(":
            out.append((text, hide))
            continue
        args, rest, close_hide = _arguments(tokens)
        replaced = _substitute(env, _lex(body), params, args, steps)
        new_hide = (hide & close_hide) | {text}
        tokens = [(t, h | new_hide) for t, h in replaced] + rest
    return out


def _arguments(tokens: list):
    """(arguments as token lists, tokens after the ')', hide set of ')')."""
    depth = 0
    args: list[list] = [[]]
    for index, (text, hide) in enumerate(tokens):
        if text == "(":
            depth += 1
            if depth == 1:
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                return args, tokens[index + 1:], hide
        elif text == "," and depth == 1:
            args.append([])
            continue
        args[-1].append((text, hide))
    raise _GiveUp("unbalanced parentheses")


def _substitute(env, body: list[str], params: tuple, args: list, steps: list) -> list:
    variadic = bool(params) and params[-1] == "..."
    named = params[:-1] if variadic else params
    if args == [[]] and not named:
        args = []
    if len(args) < len(named) or (not variadic and len(args) > len(named)):
        raise _GiveUp("wrong number of arguments")
    table = dict(zip(named, args))
    if variadic:
        extra = args[len(named):]
        joined: list = []
        for i, arg in enumerate(extra):
            if i:
                joined.append((",", frozenset()))
            joined.extend(arg)
        table["__VA_ARGS__"] = joined
    # pieces: (tokens, pasted?) per body token; `##` joins neighbours
    pieces: list = []
    for i, tok in enumerate(body):
        if tok == "#":
            raise _GiveUp("stringizing")
        if tok == "##":
            pieces.append("##")
            continue
        if tok in table:
            pasted = (i > 0 and body[i - 1] == "##") or (i + 1 < len(body) and body[i + 1] == "##")
            arg = table[tok]
            pieces.append(list(arg) if pasted else _expand(env, arg, steps))
            if tok == "__VA_ARGS__" and len(pieces) >= 3 and pieces[-2] == "##" \
                    and pieces[-3] == [(",", frozenset())]:
                # GNU: `, ## __VA_ARGS__` pastes nothing, and drops the
                # comma when there are no variable arguments
                del pieces[-3 if not arg else -2:-1]
            continue
        pieces.append([(tok, frozenset())])
    out: list = []
    paste = False
    for piece in pieces:
        if piece == "##":
            paste = True
            continue
        if paste and out and piece:
            left, hide = out.pop()
            right = piece[0]
            out.append((left + right[0], hide))
            out.extend(piece[1:])
        else:
            out.extend(piece)
        paste = False
    return out

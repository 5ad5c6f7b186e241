"""Alternatives as a link-level question: under every configuration, does
the set of definitions that is built still provide what the callers use?

Two kinds of finding:

- missing-definition: a call (added by the change, or to a name whose
  definitions, declarations, stubs or macros the change touched) is built
  in a configuration where no definition of the callee is: the UP/SMP
  pair, the `#else` stub, the weak default or the per-architecture version
  that should cover it is missing. The witness is such a configuration.
- mismatched-signature: the change touched a function whose definitions,
  stubs and prototypes (in other #if branches or files) disagree on the
  number of parameters.

False alarms are kept out, in the spirit of "report only what is certain":
every definition counts (static inline stubs in headers, weak ones, macros,
any label of an assembly file); a call counts under its own condition,
the #if/Kbuild one and the C `if (IS_ENABLED(CONFIG_X))` around it (the
compiler drops the call), `IS_ENABLED(CONFIG_X) && f()`, and the code after
`if (!IS_ENABLED(CONFIG_X)) return ...;`; a name with no definition at all
in the tree (generated, a builtin) is not judged, nor a condition that
rests on a macro kwhen cannot decide. Work is bounded to the names the
change adds or changes and to callers in C files.
"""

from __future__ import annotations

import re
import subprocess
from bisect import bisect_right

from kwhen import git
from kwhen.checks.messages import MismatchedSignature, MissingDefinition
from kwhen.cpp.directives import lex
from kwhen.cpp.expression import condition_of
from kwhen.definitions import collect_definitions, files_defining
from kwhen.exceptions import KwhenError
from kwhen.kconfig.arches import arch_of_path
from kwhen.logic.formula import FALSE, conj, conj_all, disj_all, neg
from kwhen.logic.names import MODULE, symbol_of

# Names looked at per change, and files searched for callers per name: a
# change that touches a function called from everywhere is not a link
# question worth minutes.
MAX_NAMES = 40
MAX_CALLER_FILES = 200
# Host programs and the build's own tools: never linked with the kernel.
_HOST_CODE = ("tools/", "scripts/", "usr/")

_CALL = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)\s*\(")
_KEYWORDS = frozenset((
    "if", "while", "for", "switch", "return", "sizeof", "typeof", "__typeof__", "__typeof",
    "__attribute__", "__attribute", "asm", "__asm__", "__asm", "_Static_assert",
    "static_assert", "alignof", "_Alignof", "__alignof__", "defined", "do", "else", "case",
    "goto", "__builtin_expect", "likely", "unlikely", "offsetof", "container_of",
    "IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE", "CONFIG_IS_ENABLED",
    "ARRAY_SIZE", "BUILD_BUG_ON", "WARN_ON", "WARN_ON_ONCE", "BUG_ON",
))
# A prototype or definition at file level: `type name(` on a line of its own.
_DECLARED = re.compile(r"^(?!\s*(?:return|if|else|while|for|switch|case|do|goto)\b)"
                       r"[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(")
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)")
# A test of a Kconfig symbol in C: the compiler folds it to 0 or 1.
_TEST = r"!?\s*(?:IS_ENABLED|IS_BUILTIN|IS_MODULE|IS_REACHABLE|CONFIG_IS_ENABLED)\s*\(\s*\w+\s*\)"
_ONLY_TESTS = re.compile(rf"(?:\s|[()!]|&&|\|\||{_TEST})*")
_TEST_AND = re.compile(rf"({_TEST})\s*&&")
_EXIT = re.compile(r"\s*\{?\s*(?:return\b|goto\b|break\s*;|continue\s*;)")


# -- what the change touches ---------------------------------------------------

def _function_lines(text: str, path: str) -> list[tuple[int, int]]:
    from kwhen.cpp.definitions import function_spans

    return [(s, e) for _, s, e in function_spans(text, path)]


def _inside(spans, line: int) -> bool:
    return any(s < line <= e for s, e in spans)


def touched_names(change) -> tuple[dict, set]:
    """({callee: [(path, line)] of calls the change adds in C files},
    {names whose definitions, prototypes or macros the change adds,
    changes or removes})."""
    calls: dict = {}
    touched: set = set()
    for fp in change.file_patches:
        for side, path in (("+", fp.new_path), ("-", fp.old_path)):
            if path is None or not path.endswith((".c", ".h")):
                continue
            state = change.post if side == "+" else change.pre
            text = state.read(path) if state is not None else None
            if text is None:
                continue
            spans = _function_lines(text, path)
            for hunk in fp.hunks:
                for tag, line_text, old_no, new_no in hunk.lines:
                    if tag != side:
                        continue
                    number = new_no if side == "+" else old_no
                    define = _DEFINE.match(line_text)
                    if define:
                        touched.add(define.group(1))
                    elif _inside(spans, number):
                        if side == "+" and path.endswith(".c"):
                            for name in _CALL.findall(line_text):
                                if name not in _KEYWORDS:
                                    calls.setdefault(name, []).append((path, number))
                    else:
                        declared = _DECLARED.match(line_text)
                        if declared and declared.group(1) not in _KEYWORDS:
                            touched.add(declared.group(1))
    return calls, touched


# -- where a name is defined ---------------------------------------------------

def _grep_files(root, names: list, globs: tuple) -> list[str]:
    """Files matching `globs` that mention any of `names` as a word."""
    patterns = [arg for n in names for arg in ("-e", n)]
    if (root / ".git").exists():
        out = git.run(root, "grep", "-l", "-w", "-F", *patterns, "--", *globs, ok=(0, 1))
        return out.decode("utf-8", "surrogateescape").splitlines()
    done = subprocess.run(["grep", "-r", "-l", "-w", "-F", *(f"--include={g}" for g in globs),
                           *patterns, "."], cwd=root, capture_output=True, text=True)
    return [p[2:] if p.startswith("./") else p for p in done.stdout.splitlines()]


def _files_using(root, names: list) -> dict:
    """name -> the C files that mention it as a word, in one search."""
    if not names:
        return {}
    patterns = [arg for n in names for arg in ("-e", n)]
    if (root / ".git").exists():
        out = git.run(root, "grep", "-o", "-w", "-F", *patterns, "--", "*.c",
                      ok=(0, 1)).decode("utf-8", "surrogateescape")
    else:
        out = subprocess.run(["grep", "-r", "-o", "-w", "-F", "--include=*.c", *patterns, "."],
                             cwd=root, capture_output=True, text=True).stdout
    found: dict = {}
    for row in out.splitlines():
        path, _, name = row.rpartition(":")
        path = path[2:] if path.startswith("./") else path
        found.setdefault(name, set()).add(path)
    return {name: sorted(paths) for name, paths in found.items()}


def _asm_labels(text: str, name: str) -> list[int]:
    """Lines of an assembly file that may define `name`: a label, a
    directive naming it, or a macro such as ENTRY(name) or
    SYM_FUNC_START(name). Any will do: a definition missed is a false
    alarm, one too many only silences."""
    n = re.escape(name)
    label = re.compile(rf"^\s*(?:{n}\s*:|\.(?:globl|global|weak|set|equ|type)\s+{n}\b|"
                       rf"[A-Za-z_]\w*\s*\(\s*{n}\s*[,)])")
    return [i for i, line in enumerate(text.splitlines(), 1) if label.match(line)]


class Definitions:
    """The definitions of the names a change concerns, on one architecture,
    read once: (path, line, role, condition, signature)."""

    def __init__(self, view, names: list, root):
        self.view = view
        tree = view.post
        candidates = files_defining(tree, names) if names else []
        asm = _grep_files(root, names, ("*.S",)) if names else []
        self.by_name: dict = {}
        self.elsewhere: set = set()     # names other architectures define
        for name in names:
            try:
                self.by_name[name] = self._find(tree, name, candidates, asm)
            except KwhenError:
                # a file kwhen cannot read (a malformed #if): not judged
                self.by_name[name] = []
                self.elsewhere.discard(name)

    def _find(self, tree, name: str, candidates: list, asm: list) -> list:
        """(path, line, role, condition, signature) of each definition of
        `name` on this architecture."""
        found = []
        for path, d, role, cond in collect_definitions(tree, name, candidates):
            if role == "other-arch":
                self.elsewhere.add(name)
            else:
                found.append((path, d.line, role, cond, d.signature if d.kind == "function" else None))
        for path in asm:
            try:
                text = tree.read_text(path)
            except KwhenError:
                continue            # removed by the change
            if name not in text or not _asm_labels(text, name):
                continue
            if arch_of_path(path) not in (None, tree.srcarch):
                self.elsewhere.add(name)
                continue
            for line in _asm_labels(text, name):
                found.append((path, line, "alternative", tree.line_condition(path, line), None))
        return found

    def provided(self, name: str, caller_path: str):
        """When some definition of `name` that a caller in `caller_path`
        links with (or sees, for a header's inline) is built; None when
        the tree defines it nowhere."""
        found = [entry for entry in self.by_name.get(name) or ()
                 if not entry[0].startswith(_HOST_CODE)]
        if any(not self.view.space.possible(cond) and not path.endswith(".h")
               for path, _, _, cond, _ in found):
            # a file no Makefile compiles that defines it: #included by
            # another file, or built by a rule kwhen does not follow
            return None
        if not found:
            # defined only by other architectures: nothing here provides it
            return FALSE if name in self.elsewhere else None
        return disj_all(cond for path, _, role, cond, _ in found
                        if role != "file-local" or path == caller_path)


# -- the condition of a call ---------------------------------------------------

def _matching(clean: str, open_at: int) -> int | None:
    pairs = {"(": ")", "{": "}"}
    want, depth = pairs[clean[open_at]], 0
    for i in range(open_at, len(clean)):
        c = clean[i]
        if c == clean[open_at]:
            depth += 1
        elif c == want:
            depth -= 1
            if depth == 0:
                return i
    return None


def _statement_end(clean: str, start: int) -> int | None:
    """End offset of the statement starting at `start`: its block's `}` or
    its `;`."""
    at = len(clean) - len(clean[start:].lstrip())
    if at < len(clean) and clean[at] == "{":
        return _matching(clean, at)
    end = clean.find(";", start)
    return end if end >= 0 else None


def _tests(text: str, tree, path: str, line: int):
    """The condition of C text made only of Kconfig tests (IS_ENABLED...),
    or None."""
    if not _ONLY_TESTS.fullmatch(text) or "(" not in text:
        return None
    try:
        return condition_of(" ".join(text.split()), tree.symbol_types, path, line)
    except KwhenError:
        return None


def _conjunct_tests(cond: str, tree, path: str, line: int):
    """The Kconfig tests among the top-level `&&` conjuncts of `cond`."""
    found = []
    for piece in cond.split("&&"):
        f = _tests(piece.strip(), tree, path, line)
        if f is not None and piece.count("(") == piece.count(")"):
            found.append(f)
    return conj_all(found)


def c_guard(text: str, clean: str, body: tuple[int, int], offset: int, tree, path: str,
            line: int):
    """The condition that C code of the function body `body` (offsets)
    puts on the call at `offset`: Kconfig tests the compiler folds."""
    guards = []
    for m in re.finditer(r"\bif\s*\(", clean[body[0]:offset]):
        paren = body[0] + m.end() - 1
        close = _matching(clean, paren)
        if close is None:
            continue
        cond = text[paren + 1:close]
        if close > offset:             # the call is in the condition itself
            before = text[paren + 1:offset]
            guards.extend(_each_test(_TEST_AND.findall(before), tree, path, line))
            continue
        end = _statement_end(clean, close + 1)
        if end is None:
            continue
        if offset <= end:              # the call is in what the `if` controls
            guards.append(_conjunct_tests(cond, tree, path, line))
            continue
        rest = clean[end + 1:]
        other = re.match(r"\s*else\b", rest)
        if other:
            else_end = _statement_end(clean, end + 1 + other.end())
            if else_end is not None and offset <= else_end:
                whole = _tests(cond.strip(), tree, path, line)
                if whole is not None:
                    guards.append(neg(whole))
            continue
        if _EXIT.match(clean[close + 1:end + 1]) and _same_block(clean, close, offset):
            whole = _tests(cond.strip(), tree, path, line)
            if whole is not None:       # if (!IS_ENABLED(CONFIG_X)) return ...;
                guards.append(neg(whole))
    # `IS_ENABLED(CONFIG_X) && f()` in the statement of the call
    start = max(clean.rfind(c, body[0], offset) for c in ";{}") + 1
    guards.extend(_each_test(_TEST_AND.findall(text[start:offset]), tree, path, line))
    return conj_all(guards)


def _each_test(tests: list, tree, path: str, line: int) -> list:
    found = (_tests(t, tree, path, line) for t in tests)
    return [f for f in found if f is not None]


def _same_block(clean: str, at: int, offset: int) -> bool:
    """Whether `offset` is in the block that holds `at` (no `}` closes it
    in between)."""
    depth = 0
    for c in clean[at:offset]:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
    return True


class CallSites:
    """Calls of one file, with the C guards around them."""

    def __init__(self, tree, path: str):
        self.tree, self.path = tree, path
        self.text = tree.read_text(path)
        _, self.clean = lex(self.text, clean=True)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        from kwhen.cpp.definitions import function_spans

        self.functions = [(s, e) for _, s, e in function_spans(self.text, path)]

    def calls(self, name: str, lines=None):
        """(line, condition of the call) of the calls of `name` in
        function bodies (on `lines` only, when given)."""
        pattern = re.compile(rf"(?<![\w.>]){re.escape(name)}\s*\(|(?<![\w.>]){re.escape(name)}\b")
        for m in pattern.finditer(self.clean):
            line = bisect_right(self.line_starts, m.start())
            if lines is not None and line not in lines:
                continue
            span = next(((s, e) for s, e in self.functions if s < line <= e), None)
            if span is None:
                continue
            body = (self.line_starts[span[0] - 1], self.line_starts[min(span[1], len(self.line_starts) - 1)])
            guard = c_guard(self.text, self.clean, body, m.start(), self.tree, self.path, line)
            yield line, conj(self.tree.line_condition(self.path, line), guard)


# -- the check -----------------------------------------------------------------

def _decided_by_kconfig(f, types: dict) -> bool:
    """Whether every variable of `f` is a Kconfig symbol's (or MODULE):
    nothing free that would make a witness a guess."""
    for name in f.variables():
        base = re.match(r"[A-Za-z0-9_]+", symbol_of(name))
        if name != MODULE and (base is None or base.group() not in types):
            return False
    return True


def _parameters(signature: str | None) -> int | None:
    """How many parameters a function's signature declares (None when it
    cannot tell: variadic, a macro in the list)."""
    if not signature:
        return None
    open_at = signature.find("(")
    close = signature.rfind(")")
    if open_at < 0 or close < open_at:
        return None
    inner = signature[open_at + 1:close]
    if "..." in inner:
        return None
    if inner.strip() in ("", "void"):
        return 0
    depth, count = 0, 1
    for c in inner:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            count += 1
    return count


def _prototypes(tree, path: str, name: str) -> list[tuple[int, int | None]]:
    """(line, parameters) of the prototypes of `name` in a file."""
    text = tree.read_text(path)
    _, clean = lex(text, clean=True)
    found = []
    for m in re.finditer(rf"(?<![\w.>]){re.escape(name)}\s*\(", clean):
        close = _matching(clean, m.end() - 1)
        if close is None:
            continue
        after = re.match(r"\s*(?:__\w+(?:\s*\([^;{)]*\))?\s*)*;", clean[close + 1:])
        head = clean[max(0, clean.rfind("\n", 0, m.start())):m.start()]
        if after and re.search(r"[\w\*]\s*$", head) and not re.search(r"[=(,]\s*$|return\s*$", head):
            line = clean.count("\n", 0, m.start()) + 1
            found.append((line, _parameters(clean[m.start():close + 1])))
    return found


def run(change, context) -> list:
    # U-Boot proper only: the earlier phases link with --gc-sections, so a
    # call from code their linker discards needs no definition there
    views = [v for v in context.views if v.proper]
    if not views:
        return []
    calls, touched = touched_names(change)
    names = sorted(set(calls) | touched)[:MAX_NAMES]
    if not names:
        return []
    findings = []
    for view in views:
        defs = Definitions(view, names, context.root)
        findings.extend(_missing(view, defs, calls, touched, context.root))
        findings.extend(_mismatched(view, defs, touched, change))
    return findings


def _missing(view, defs: Definitions, calls: dict, touched: set, root) -> list:
    tree, space = view.post, view.space
    types = tree.symbol_types
    sites: dict = {}
    findings = []
    callers_of = _files_using(root, sorted(touched & set(defs.by_name)))
    for name in sorted(defs.by_name):
        callers = {}               # path -> lines (None: every call)
        for path, line in calls.get(name, []):
            callers.setdefault(path, set()).add(line)
        files = callers_of.get(name, ())
        if len(files) <= MAX_CALLER_FILES:
            for path in files:
                if arch_of_path(path) in (None, tree.srcarch):
                    callers[path] = None
        for path, lines in sorted(callers.items()):
            if path.startswith(_HOST_CODE):
                continue
            provided = defs.provided(name, path)
            if provided is None or not _decided_by_kconfig(provided, types):
                continue
            if path not in sites:
                try:
                    sites[path] = CallSites(tree, path)
                except KwhenError:
                    continue
            try:
                calls_here = list(sites[path].calls(name, lines))
            except KwhenError:
                continue
            for line, condition in calls_here:
                if not _decided_by_kconfig(condition, types):
                    continue
                missing = conj(condition, neg(provided))
                if not space.possible(missing):
                    continue
                findings.append(MissingDefinition(
                    file=path, line=line, function=name, arches=[view.arch], phases=view.phases, types=types,
                    after=space.simplify(condition), missing=space.simplify(missing),
                    definitions=[(p, n, space.simplify(c)) for p, n, role, c, _ in defs.by_name[name]
                                 if (role != "file-local" or p == path)
                                 and not p.startswith(_HOST_CODE)],
                    witness=view.witness(missing)))
                break                      # one call a file says it
    return findings


def _mismatched(view, defs: Definitions, touched: set, change) -> list:
    """Definitions, stubs and prototypes of a touched name, built in
    exclusive configurations (the #if and #else branches, the file built
    with FOO and the stub without), that disagree on the parameters."""
    tree, space = view.post, view.space
    findings = []
    changed_paths = change.post.changed_paths() if change.post is not None else set()
    added = {(fp.new_path, n) for fp in change.file_patches if fp.new_path
             for n, _ in fp.added_lines()}
    for name in sorted(touched & set(defs.by_name)):
        shapes = []                     # (path, line, parameters, condition)
        for path, line, role, cond, signature in defs.by_name[name]:
            # a static function of a .c file is that file's own business
            if signature is not None and role != "file-local":
                shapes.append((path, line, _parameters(signature), cond))
        for path in sorted({p for p, *_ in defs.by_name[name]} | {p for p in changed_paths
                                                                   if p.endswith(".h")}):
            if not path.endswith(".h") or arch_of_path(path) not in (None, tree.srcarch):
                continue
            try:
                for line, count in _prototypes(tree, path, name):
                    shapes.append((path, line, count, tree.line_condition(path, line)))
            except KwhenError:
                continue
        shapes = [s for s in shapes if s[2] is not None and space.possible(s[3])]
        if len({s[2] for s in shapes}) < 2:
            continue
        mine = [s for s in shapes if (s[0], s[1]) in added]
        if not mine:
            continue
        path, line, count, cond = mine[0]
        others = [(p, n, c) for p, n, c, other in shapes
                  if c != count and not space.possible(conj(cond, other))]
        if others:
            findings.append(MismatchedSignature(
                file=path, line=line, function=name, parameters=count, arches=[view.arch], phases=view.phases,
                types=tree.symbol_types, others=others))
    return findings

"""Which files are code: the file-name suffixes every layer agrees on.

A C file is compiled (`.c`), or included (`.h`); assembly is preprocessed
(`.S`, with #if like C) or not (`.s`). Kbuild makes an object `foo.o` from
`foo.c` or `foo.S`.
"""

HEADER_SUFFIXES = (".h",)
ASSEMBLY_SUFFIXES = (".S", ".s")
# files a Makefile may compile (a question about one that no Makefile
# reaches is answered "unreached", not refused)
SOURCE_SUFFIXES = (".c", ".S", ".s")
# what Kbuild builds an object foo.o from
OBJECT_SOURCE_SUFFIXES = (".c", ".S")
# files read for their lines: changed code, definitions of identifiers
CODE_SUFFIXES = (".c", ".h", ".S")
CODE_GLOBS = tuple("*" + suffix for suffix in CODE_SUFFIXES)


def is_makefile(relpath: str) -> bool:
    """A file make reads as a makefile: Makefile*, Kbuild*, *.mk."""
    name = relpath.rsplit("/", 1)[-1]
    return name.startswith(("Makefile", "Kbuild")) or name.endswith(".mk")

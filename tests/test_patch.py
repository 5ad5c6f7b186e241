"""kwhen.patch: parsing and applying diffs, reading mboxes, resolving targets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kwhen.exceptions import KwhenError
from kwhen.patch.diff import apply, parse_diff
from kwhen.patch.mbox import read_patches
from kwhen.patch.target import resolve_target

FIXTURES = Path(__file__).parent / "fixtures"
SERIES = FIXTURES / "patch-series"


# -- diff parsing ------------------------------------------------------------------

GIT_DIFF = """\
commit message text that is not part of the diff
diff --git a/add.txt b/add.txt
new file mode 100644
index 0000000..ce01362
--- /dev/null
+++ b/add.txt
@@ -0,0 +1 @@
+hello
diff --git a/del.txt b/del.txt
deleted file mode 100644
index 286c5f5..0000000
--- a/del.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/f.txt b/f.txt
index 92dfa21..79fef09 100644
--- a/f.txt
+++ b/f.txt
@@ -1,3 +1,3 @@ first
 a
-b
+B
 c
@@ -8,3 +8,4 @@ second
 h
 i
+I2
 j
diff --git a/old.txt b/new.txt
similarity index 75%
rename from old.txt
rename to new.txt
index 74c047b..c96fe16 100644
--- a/old.txt
+++ b/new.txt
@@ -1,3 +1,4 @@
 r1
 r2
 r3
+r4
diff --git a/nonl.txt b/nonl.txt
index 1b32298..aa3d911 100644
--- a/nonl.txt
+++ b/nonl.txt
@@ -1,2 +1,2 @@
 x
-y
\\ No newline at end of file
+Y
\\ No newline at end of file
"""

F_TEXT = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"


def _by_path(fps):
    return {fp.path: fp for fp in fps}


def test_parse_statuses_and_paths():
    fps = _by_path(parse_diff(GIT_DIFF, "x.patch"))
    assert fps["add.txt"].status == "added"
    assert fps["add.txt"].old_path is None and fps["add.txt"].new_path == "add.txt"
    assert fps["del.txt"].status == "deleted" and fps["del.txt"].new_path is None
    assert fps["f.txt"].status == "modified" and fps["f.txt"].old_path == "f.txt"
    ren = fps["new.txt"]
    assert ren.status == "renamed" and (ren.old_path, ren.new_path) == ("old.txt", "new.txt")


def test_parse_multiple_hunks_and_line_numbers():
    f = _by_path(parse_diff(GIT_DIFF, "x.patch"))["f.txt"]
    assert len(f.hunks) == 2
    h1, h2 = f.hunks
    assert (h1.old_start, h1.old_len, h1.new_start, h1.new_len, h1.header) == (1, 3, 1, 3, "first")
    assert h1.lines == [(" ", "a", 1, 1), ("-", "b", 2, None), ("+", "B", None, 2), (" ", "c", 3, 3)]
    assert h2.header == "second"
    assert ("+", "I2", None, 10) in h2.lines
    assert f.added_lines() == [(2, "B"), (10, "I2")]
    assert f.removed_lines() == [(2, "b")]


def test_parse_no_newline_marker():
    h = _by_path(parse_diff(GIT_DIFF, "x.patch"))["nonl.txt"].hunks[0]
    assert h.old_no_newline and h.new_no_newline
    assert [t for t, *_ in h.lines] == [" ", "-", "+"]      # the marker is not a line


def test_apply_all_kinds():
    fps = _by_path(parse_diff(GIT_DIFF, "x.patch"))
    assert apply(None, fps["add.txt"], "x.patch") == "hello\n"
    assert apply("gone\n", fps["del.txt"], "x.patch") is None
    assert apply(F_TEXT, fps["f.txt"], "x.patch") == "a\nB\nc\nd\ne\nf\ng\nh\ni\nI2\nj\n"
    assert apply("r1\nr2\nr3\n", fps["new.txt"], "x.patch") == "r1\nr2\nr3\nr4\n"
    # the missing newline at the end survives
    assert apply("x\ny", fps["nonl.txt"], "x.patch") == "x\nY"


def test_apply_adds_and_removes_final_newline():
    add_nl = parse_diff("--- a/n\n+++ b/n\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n",
                        "p")[0]
    assert apply("x\ny", add_nl, "p") == "x\ny\n"
    drop_nl = parse_diff("--- a/n\n+++ b/n\n@@ -1,2 +1,2 @@\n x\n-y\n+y\n\\ No newline at end of file\n",
                         "p")[0]
    assert apply("x\ny\n", drop_nl, "p") == "x\ny"
    # context that ends the file without a newline must match the file's end exactly
    with pytest.raises(KwhenError, match="does not apply"):
        apply("x\ny\n", add_nl, "p")


def test_apply_with_offset():
    f = _by_path(parse_diff(GIT_DIFF, "x.patch"))["f.txt"]
    shifted = "new0\nnew1\nnew2\n" + F_TEXT        # every hunk now sits 3 lines lower
    assert apply(shifted, f, "x.patch") == "new0\nnew1\nnew2\na\nB\nc\nd\ne\nf\ng\nh\ni\nI2\nj\n"
    earlier = F_TEXT.replace("d\ne\n", "")          # the second hunk sits 2 lines higher
    assert apply(earlier, f, "x.patch") == "a\nB\nc\nf\ng\nh\ni\nI2\nj\n"


def test_apply_nearest_match_wins():
    fp = parse_diff("--- a/r\n+++ b/r\n@@ -5,2 +5,3 @@\n x\n+new\n y\n", "p")[0]
    text = "x\ny\n0\n0\nx\ny\n0\n0\n0\n0\n0\n0\n0\nx\ny\n"
    assert apply(text, fp, "p") == "x\ny\n0\n0\nx\nnew\ny\n0\n0\n0\n0\n0\n0\n0\nx\ny\n"


def test_apply_refuses_non_matching_hunk():
    f = _by_path(parse_diff(GIT_DIFF, "x.patch"))["f.txt"]
    with pytest.raises(KwhenError) as e:
        apply(F_TEXT.replace("h\n", "H\n"), f, "x.patch")
    assert "patch does not apply: f.txt hunk #2 (@@ -8,3 +8,4 @@)" in e.value.message
    assert e.value.path == "x.patch"
    with pytest.raises(KwhenError, match="does not exist"):
        apply(None, f, "x.patch")
    with pytest.raises(KwhenError, match="already exists"):
        apply("x\n", _by_path(parse_diff(GIT_DIFF, "x.patch"))["add.txt"], "x.patch")


def test_binary_patch_error():
    text = ("diff --git a/logo.png b/logo.png\nindex 1111111..2222222 100644\n"
            "GIT binary patch\nliteral 4\nLcmZ?wbhHGT3&;R\n\nliteral 0\nHcmV?d00001\n\n")
    with pytest.raises(KwhenError, match="binary patches cannot be checked") as e:
        parse_diff(text, "bin.patch")
    assert e.value.path == "bin.patch" and e.value.line == 3
    plain = "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nBinary files a/x.bin and b/x.bin differ\n"
    with pytest.raises(KwhenError, match="binary"):
        parse_diff(plain, "bin.patch")
    kept = parse_diff(plain, "bin.patch", allow_binary=True)
    assert kept[0].binary and kept[0].hunks == []


@pytest.mark.parametrize("old,new", [("a/../../etc/passwd", "b/../../etc/passwd"),
                                     ("/etc/passwd", "/etc/passwd"),
                                     ("a/ok.c", "b/sub/../../../x.c")])
def test_path_escaping_tree(old, new):
    text = f"--- {old}\n+++ {new}\n@@ -1 +1 @@\n-a\n+b\n"
    with pytest.raises(KwhenError, match="absolute path|escapes the tree") as e:
        parse_diff(text, "evil.patch")
    assert e.value.path == "evil.patch" and e.value.line == 1


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("   \n\n", "empty"),
    ("just some prose\nwith no diff\n", "no diff"),
    ("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n", "malformed hunk"),
    ("--- a/f\n+++ b/f\n@@ -1,x +1 @@\n-a\n+b\n", "malformed hunk header"),
    ("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n*b\n+c\n", "malformed hunk"),
])
def test_garbage_errors(text, match):
    with pytest.raises(KwhenError, match=match) as e:
        parse_diff(text, "bad.patch")
    assert e.value.path == "bad.patch"


def test_malformed_hunk_names_line():
    text = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n*b\n"
    with pytest.raises(KwhenError) as e:
        parse_diff(text, "bad.patch")
    assert e.value.line == 6


def test_crlf_patch():
    fp = parse_diff(GIT_DIFF.replace("\n", "\r\n"), "crlf.patch")
    assert _by_path(fp)["f.txt"].hunks[0].lines[1] == ("-", "b", 2, None)


# -- mbox ----------------------------------------------------------------------------

def test_mbox_series_in_order_without_cover_letter():
    mails = read_patches(SERIES / "series.mbox", "series.mbox")
    assert [m.subject for m in mails] == ["foo: log when foo starts", "bar: add the bar driver",
                                          "foo: log only with bar"]
    assert [(m.number, m.total) for m in mails] == [(1, 3), (2, 3), (3, 3)]
    assert mails[0].author == "Ada <ada@example.org>"
    assert mails[0].message_id.startswith("<d9f3ef2e")
    assert mails[0].diff_text.startswith("diff --git a/drivers/foo.c b/drivers/foo.c")
    # the diff's first line is found in the mbox file, for error locations
    lines = (SERIES / "series.mbox").read_text().split("\n")
    assert lines[mails[0].first_line - 1] == "diff --git a/drivers/foo.c b/drivers/foo.c"


def test_single_format_patch_and_crlf():
    text = (SERIES / "0001-foo-log.patch").read_text()
    for t in (text, text.replace("\n", "\r\n")):
        (mail,) = read_patches(t, "p")
        assert mail.subject == "foo: log when foo starts"
        assert '+\tpr_info("foo: up\\n");' in mail.diff_text.split("\n")
        assert "\r" not in mail.diff_text


def test_quoted_printable_mail():
    (mail,) = read_patches(str(FIXTURES / "patch-qp" / "qp.eml"))
    assert mail.author == "Zoë Example <zoe@example.org>"
    assert mail.subject == "foo: explain the reset in foo_exit()"
    (fp,) = parse_diff(mail.diff_text, "qp.eml")
    added = fp.added_lines()
    assert len(added) == 1 and "Zoë says: reset the counter = 0 here, because a very long comment line" \
        in added[0][1]
    foo = (SERIES / "tree" / "drivers" / "foo.c").read_text()
    assert "Zoë says" in apply(foo, fp, "qp.eml")


def test_base64_attachment():
    from email.message import EmailMessage
    diff = (SERIES / "0001-foo-log.patch").read_text().split("---\n", 1)[1]
    msg = EmailMessage()
    msg["From"] = "Bob <bob@example.org>"
    msg["Subject"] = "[PATCH] foo: attached"
    msg.set_content("See the attachment.\n")
    msg.add_attachment(diff.encode(), maintype="text", subtype="x-patch", filename="0001.patch",
                       cte="base64")
    (mail,) = read_patches(msg.as_string(), "att")
    assert mail.subject == "foo: attached"
    assert mail.diff_text.startswith("diff --git a/drivers/foo.c")


@pytest.mark.parametrize("text", ["", "\n\n", "From abc Mon Sep 17 00:00:00 2001\nSubject: hi\n\nno diff\n"])
def test_empty_mbox_error(text):
    with pytest.raises(KwhenError, match="empty mbox|no patch"):
        read_patches(text, "empty.mbox")


# -- targets ---------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.org",
               GIT_COMMITTER_NAME="Ada", GIT_COMMITTER_EMAIL="ada@example.org",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A scratch git repository: 3 commits on top of the patch-series tree."""
    r = tmp_path / "repo"
    shutil.copytree(SERIES / "tree", r)
    _git(r, "init", "-q", "-b", "main")
    _git(r, "add", ".")
    _git(r, "commit", "-qm", "base")
    foo = r / "drivers" / "foo.c"
    foo.write_text(foo.read_text().replace("\tfoo_count = 1;\n", "\tfoo_count = 1;\n\tfoo_start();\n"))
    _git(r, "commit", "-qam", "one: start foo")
    (r / "drivers" / "bar.c").write_text("int bar;\n")
    (r / "Kconfig").write_text((r / "Kconfig").read_text() + "\nconfig BAZ\n\tbool\n")
    _git(r, "add", ".")
    _git(r, "commit", "-qm", "two: add bar")
    (r / "drivers" / "bar.c").unlink()
    foo.write_text(foo.read_text().replace("foo_start", "foo_go"))
    _git(r, "commit", "-qam", "three: drop bar")
    return r


def test_resolve_commit_pre_post(repo):
    (change,) = resolve_target("HEAD~1", repo)
    assert change.title == "two: add bar"
    assert change.author == "Ada <ada@example.org>"
    assert change.id == _git(repo, "rev-parse", "HEAD~1")[:12]
    assert {(fp.status, fp.path) for fp in change.file_patches} == {("added", "drivers/bar.c"),
                                                                    ("modified", "Kconfig")}
    # pre: the tree at HEAD~2; post: at HEAD~1 -- neither is the work tree (HEAD)
    assert change.pre.read("drivers/bar.c") is None and not change.pre.exists("drivers/bar.c")
    assert change.post.read("drivers/bar.c") == "int bar;\n"
    assert "config BAZ" not in change.pre.read("Kconfig")
    assert "config BAZ" in change.post.read("Kconfig")
    assert "foo_start();" in change.pre.read("drivers/foo.c")
    assert "foo_start();" in change.post.read("drivers/foo.c")
    assert "foo_go" in (repo / "drivers" / "foo.c").read_text()
    assert change.post.read("Makefile") == (repo / "Makefile").read_text()   # from the work tree
    assert change.pre.changed_paths() == {"drivers/foo.c", "Kconfig"}
    assert change.post.changed_paths() == {"drivers/foo.c", "drivers/bar.c"}


def test_revision_states_ignore_a_dirty_work_tree(repo):
    # the work tree differs from HEAD every way it can: a modified, a
    # deleted, an untracked and a staged new file
    foo = repo / "drivers" / "foo.c"
    foo.write_text("int edited_in_work_tree;\n")
    (repo / "Makefile").unlink()
    (repo / "drivers" / "scratch.c").write_text("int scratch;\n")
    (repo / "drivers" / "staged.c").write_text("int staged;\n")
    _git(repo, "add", "drivers/staged.c")
    (change,) = resolve_target("HEAD~1", repo)
    for state in (change.pre, change.post):
        assert "foo_start();" in state.read("drivers/foo.c")
        assert state.read("Makefile").strip() == _git(repo, "show", f"{state.rev}:Makefile")
        assert state.read("drivers/scratch.c") is None and not state.exists("drivers/scratch.c")
        assert state.read("drivers/staged.c") is None
    assert {"drivers/scratch.c", "drivers/staged.c", "Makefile"} <= change.post.changed_paths()


def test_resolve_default_head_and_range(repo):
    (head,) = resolve_target(None, repo)
    assert head.title == "three: drop bar"
    assert head.post.changed_paths() == set()
    changes = resolve_target("HEAD~3..HEAD", repo)
    assert [c.title for c in changes] == ["one: start foo", "two: add bar", "three: drop bar"]
    # consecutive commits share a state: post of one is pre of the next
    assert changes[0].post is changes[1].pre


def test_unknown_revision(repo):
    with pytest.raises(KwhenError, match="unknown revision 'nosuchrev'"):
        resolve_target("nosuchrev", repo)
    with pytest.raises(KwhenError, match="unknown revision 'nope'"):
        resolve_target("HEAD~1..nope", repo)


def test_resolve_patch_file(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(SERIES / "tree", tree)
    (change,) = resolve_target(str(SERIES / "0001-foo-log.patch"), tree)
    assert change.title == "foo: log when foo starts"
    assert change.pre.read("drivers/foo.c") == (tree / "drivers" / "foo.c").read_text()
    assert 'pr_info("foo: up\\n");' in change.post.read("drivers/foo.c")
    assert change.post.changed_paths() == {"drivers/foo.c"}
    assert change.pre.changed_paths() == set()


def test_resolve_mbox_series_in_order(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(SERIES / "tree", tree)
    changes = resolve_target(str(SERIES / "series.mbox"), tree)
    assert [c.title for c in changes] == ["foo: log when foo starts", "bar: add the bar driver",
                                          "foo: log only with bar"]
    one, two, three = changes
    assert two.pre is one.post and three.pre is two.post
    assert not one.post.exists("drivers/bar.c") and two.post.exists("drivers/bar.c")
    # patch 3 applies on top of patch 1 (it only applies in order)
    final = three.post.read("drivers/foo.c")
    assert '#ifdef CONFIG_BAR\n\tpr_info("foo: up\\n");\n#endif\n' in final
    assert "obj-$(CONFIG_BAR) += bar.o" in three.post.read("drivers/Makefile")
    # the work tree itself is untouched
    assert (tree / "drivers" / "foo.c").read_text() == (SERIES / "tree/drivers/foo.c").read_text()


def test_resolve_stdin_and_non_applying(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(SERIES / "tree", tree)
    text = (SERIES / "0001-foo-log.patch").read_text()
    (change,) = resolve_target("-", tree, stdin_text=text)
    assert "pr_info" in change.post.read("drivers/foo.c")
    (tree / "drivers" / "foo.c").write_text("unrelated\n")
    with pytest.raises(KwhenError, match=r"patch does not apply: drivers/foo.c hunk #1"):
        resolve_target("-", tree, stdin_text=text)


def test_materialize(repo, tmp_path):
    (change,) = resolve_target("HEAD~1", repo)
    dest = change.post.materialize(tmp_path / "post")
    assert not (dest / ".git").exists()
    # changed files hold the post content...
    assert (dest / "drivers" / "bar.c").read_text() == "int bar;\n"
    assert "foo_start();" in (dest / "drivers" / "foo.c").read_text()
    # ...unchanged files are hard links to the work tree
    assert os.path.samefile(dest / "Makefile", repo / "Makefile")
    assert os.stat(dest / "Makefile").st_nlink >= 2
    assert not os.path.samefile(dest / "drivers" / "foo.c", repo / "drivers" / "foo.c")
    # writing a changed file did not write through to the work tree
    assert "foo_go" in (repo / "drivers" / "foo.c").read_text()
    assert not (repo / "drivers" / "bar.c").exists()
    # a file absent in the state is absent from the directory
    pre = change.pre.materialize(tmp_path / "pre")
    assert not (pre / "drivers" / "bar.c").exists()
    assert "config BAZ" not in (pre / "Kconfig").read_text()
    assert "config BAZ" in (repo / "Kconfig").read_text()
    with pytest.raises(KwhenError, match="not empty"):
        change.post.materialize(tmp_path / "post")

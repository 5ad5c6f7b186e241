"""The recipes of docs/recipes.md, run as written where they can run
offline: the pre-commit hook from this repository, `git rebase -x`, a b4
mbox on standard input; and what the CI recipes upload: SARIF with stable
fingerprints and an invocation, GitLab's code quality JSON."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, committed, git, run_kwhen
import test_reports

PATCH = REPO / "examples" / "seed-move-resync.patch"

# the official SARIF schema's validator, as tests/test_reports.py gets it
sarif_validator = pytest.fixture(scope="module")(test_reports.sarif_validator.__wrapped__)


@pytest.fixture
def kwhen_on_path(tmp_path):
    """A `kwhen` command on PATH running this checkout's code, as an
    installed kwhen would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kwhen"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m kwhen \"$@\"\n")
    shim.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def _git(cwd, *args, env=None, check=True):
    return subprocess.run(["git", "-c", "user.name=kwhen test", "-c", "user.email=test@example.org",
                           *args], cwd=cwd, capture_output=True, text=True, env=env, check=check)


def test_rebase_x_stops_at_the_commit_with_findings(example, kwhen_on_path):
    committed(example)
    (example / "README").write_text("an unrelated first commit\n")
    git(example, "add", "README")
    git(example, "commit", "-qm", "docs: a README")
    git(example, "am", "-q", str(PATCH))
    (example / "NOTES").write_text("an unrelated last commit\n")
    git(example, "add", "NOTES")
    git(example, "commit", "-qm", "docs: notes")
    done = _git(example, "rebase", "-x", "kwhen check", "HEAD~3", env=kwhen_on_path, check=False)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "moved-narrowed" in out
    # stopped right after the patch: HEAD is the 2017 replay, the notes not yet replayed
    head = _git(example, "log", "-1", "--format=%s").stdout
    assert "Defer resyncing initial_page_table" in head
    _git(example, "rebase", "--abort")


def test_b4_style_mbox_on_stdin(example):
    mbox = PATCH.read_text()
    done = run_kwhen("check", "-", "--tree", example, "--format", "json", input=mbox)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert "moved-narrowed" in {f["kind"] for f in data["findings"]}
    assert data["summary"]["changes_checked"] == ["stdin"]


@pytest.mark.network      # pre-commit installs the hook's venv from PyPI
def test_pre_commit_hook_stops_the_staged_change(example, tmp_path, kwhen_on_path):
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit; .ci/run does)")
    # the hook as a user gets it: this repository, committed, with its hooks file
    clone = tmp_path / "kwhen-clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for name in (".pre-commit-hooks.yaml",):
        shutil.copy(REPO / name, clone / name)
    _git(clone, "add", "-A")
    _git(clone, "commit", "-qm", "this checkout's hooks file", check=False)
    committed(example)
    git(example, "apply", "--index", str(PATCH))
    env = dict(kwhen_on_path, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    done = subprocess.run(["pre-commit", "try-repo", str(clone), "kwhen"], cwd=example,
                          capture_output=True, text=True, env=env, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "moved-narrowed" in out and "kwhen check --staged" in out
    # a clean index passes
    git(example, "reset", "-q", "--hard")
    done = subprocess.run(["pre-commit", "try-repo", str(clone), "kwhen", "--all-files"], cwd=example,
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


# -- what the CI recipes upload -------------------------------------------------------

def _sarif(tree, *extra):
    done = run_kwhen("check", PATCH, "--tree", tree, "--format", "sarif", *extra)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def _by_kind(doc):
    return {r["ruleId"]: r for r in doc["runs"][0]["results"]}


def test_sarif_fingerprints_survive_lines_moving(example, sarif_validator):
    before = _sarif(example)
    assert not list(sarif_validator.iter_errors(before))
    # an unrelated edit: comment lines at the top of both files the patch touches
    for rel in ("arch/x86/kernel/setup.c", "arch/x86/kernel/setup_percpu.c"):
        path = example / rel
        path.write_text("/* an unrelated comment\n * of three lines\n */\n" + path.read_text())
    after = _sarif(example)
    assert not list(sarif_validator.iter_errors(after))
    old, new = _by_kind(before), _by_kind(after)
    assert old.keys() == new.keys() and "moved-narrowed" in old
    for kind in old:
        old_line = old[kind]["locations"][0]["physicalLocation"]["region"]["startLine"]
        new_line = new[kind]["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert new_line == old_line + 3
        assert old[kind]["partialFingerprints"] == new[kind]["partialFingerprints"]
    # and a different finding has a different fingerprint
    prints = [r["partialFingerprints"]["kwhenFinding/v1"] for r in old.values()]
    assert len(set(prints)) == len(prints)


def test_sarif_invocation_and_rule_help(example):
    doc = _sarif(example)
    run = doc["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["commandLine"].startswith("kwhen check ")
    assert "--format" in invocation["arguments"]
    assert invocation["startTimeUtc"] <= invocation["endTimeUtc"]
    assert invocation["workingDirectory"]["uri"].startswith("file:///")
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == example.resolve().as_uri() + "/"
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["helpUri"].endswith(f"/docs/checks.md#{rule['id']}")
        # the anchor exists in the page
        assert f"## {rule['id']}\n" in (REPO / "docs" / "checks.md").read_text()


def test_gitlab_code_quality_report(example):
    done = run_kwhen("check", PATCH, "--tree", example, "--format", "gitlab")
    assert done.returncode == 1, done.stderr
    issues = json.loads(done.stdout)
    moved = [i for i in issues if i["check_name"] == "moved-narrowed"]
    assert moved and moved[0]["location"] == {"path": "arch/x86/kernel/setup_percpu.c",
                                              "lines": {"begin": 15}}
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
    assert len({i["fingerprint"] for i in issues}) == len(issues)

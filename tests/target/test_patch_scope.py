"""A model's diff is checked before anything runs: scope, applying, compiling, size, new imports.

Each test makes a real git project, writes a diff against it, and checks both the verdict and
that the project's files are exactly as before (the check computes the result elsewhere).
"""

from __future__ import annotations

import difflib
import os
import textwrap
from pathlib import Path

import pytest

from aft_tui.target.patch_scope import check_patch
from aft_tui.target.patches import apply_unified_diff
from tests.conftest import git

TRAIN = textwrap.dedent("""\
    import json
    import numpy as np

    from model import Net

    LR = 0.1
    for epoch in range(3):
        loss = 1.0 / (1 + LR * (epoch + 1))
        print(json.dumps({"epoch": epoch, "val_loss": loss}))
    """)
MODEL = textwrap.dedent("""\
    class Net:
        width = 8
    """)
DATA = "x,y\n1,2\n"


def not_installed(name: str) -> bool:
    return False


def diff_of(path: str, before: str | None, after: str | None) -> str:
    old = (before or "").splitlines(keepends=True)
    new = (after or "").splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, "/dev/null" if before is None else f"a/{path}",
                                        "/dev/null" if after is None else f"b/{path}"))


@pytest.fixture
def project(git_project) -> Path:
    root = git_project()
    (root / "train.py").write_text(TRAIN)
    (root / "model.py").write_text(MODEL)
    (root / "data.csv").write_text(DATA)
    (root / "lib").mkdir()
    (root / "lib" / "helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    git(root, "add", "train.py", "model.py", "data.csv", "lib/helpers.py")
    git(root, "commit", "-q", "-m", "the project")
    return root


def unchanged(root: Path) -> bool:
    return (git(root, "status", "--porcelain") == "" and (root / "train.py").read_text() == TRAIN
            and (root / "model.py").read_text() == MODEL)


def check(root: Path, diff: str, **kw):
    kw.setdefault("editable", ["train.py"])
    kw.setdefault("is_installed", not_installed)
    return check_patch(diff, root, **kw)


def test_a_good_diff_is_accepted_with_the_new_text_and_nothing_is_written(project):
    new = TRAIN.replace("LR = 0.1", "LR = 0.05\nWARMUP = 100")
    result = check(project, diff_of("train.py", TRAIN, new))
    assert result.ok and result.problems == []
    assert result.files == {"train.py": new}
    assert result.changed_lines == 3 and result.deleted == []
    assert unchanged(project)


def test_a_diff_without_prefixes_and_with_wrong_hunk_counts_still_applies(project):
    new = TRAIN.replace("LR = 0.1", "LR = 0.02")
    diff = diff_of("train.py", TRAIN, new).replace("a/train.py", "train.py").replace("b/train.py", "train.py")
    diff = diff.replace("@@ -3,7 +3,7 @@", "@@ -3,9 +3,9 @@")
    result = check(project, diff)
    assert result.ok, result.problems
    assert result.files["train.py"] == new


def test_text_that_is_no_diff_is_refused_as_unparsed(project):
    result = check(project, "Set LR to 0.05 in train.py.")
    assert not result.ok and result.files == {}
    assert "does not parse" in result.problems[0] and "---/+++ headers" in result.problems[0]


def test_a_diff_against_other_text_does_not_apply(project):
    other = TRAIN.replace("LR = 0.1", "LR = 0.3")
    result = check(project, diff_of("train.py", other, other.replace("LR = 0.3", "LR = 0.05")))
    assert not result.ok
    assert "does not apply to the current files" in result.problems[0] and "train.py" in result.problems[0]
    assert unchanged(project)


def test_a_diff_that_applies_but_breaks_the_syntax_is_refused(project):
    broken = TRAIN.replace("LR = 0.1", "LR = (0.1")
    result = check(project, diff_of("train.py", TRAIN, broken))
    assert not result.ok
    assert result.problems[0].startswith("train.py does not compile after the diff (line 6")
    assert unchanged(project)


def test_a_file_outside_the_editable_ones_is_refused(project):
    result = check(project, diff_of("model.py", MODEL, MODEL.replace("8", "16")))
    assert not result.ok
    assert result.problems == ["The diff changes model.py, which is not among the editable files (train.py); "
                               "change only those."]


def test_read_only_wins_over_editable(project):
    result = check(project, diff_of("model.py", MODEL, MODEL.replace("8", "16")),
                   editable=["train.py", "model.py"], read_only=["./model.py"])
    assert not result.ok
    assert result.problems[0].startswith("model.py is read-only in these experiments")


def test_a_read_only_folder_covers_its_files(project):
    diff = diff_of("lib/helpers.py", "def twice(x):\n    return 2 * x\n", "def twice(x):\n    return x + x\n")
    assert check(project, diff, editable=["lib"]).ok
    refused = check(project, diff, editable=["lib"], read_only=["lib/"])
    assert "lib/helpers.py is read-only" in refused.problems[0]


def test_paths_that_climb_out_or_are_absolute_are_refused_before_anything_is_read(project):
    climbing = diff_of("../secret.py", "a = 1\n", "a = 2\n")
    result = check(project, climbing, editable=["train.py", "../secret.py"])
    assert not result.ok and "uses '..' to leave its folder" in result.problems[0]
    absolute = "--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1 @@\n-a\n+b\n"
    result = check(project, absolute)
    assert not result.ok and "absolute path /etc/hostname" in result.problems[0]


def test_a_symbolic_link_leading_outside_the_project_is_refused(project, tmp_path):
    outside = tmp_path / "elsewhere.py"
    outside.write_text("a = 1\n")
    os.symlink(outside, project / "linked.py")
    result = check(project, diff_of("linked.py", "a = 1\n", "a = 2\n"), editable=["train.py", "linked.py"])
    assert not result.ok
    assert result.problems[0].startswith("linked.py is a symbolic link leading outside the project")
    assert outside.read_text() == "a = 1\n"


def test_a_symbolic_link_to_a_file_that_is_not_editable_is_refused(project):
    os.symlink(project / "model.py", project / "alias.py")
    result = check(project, diff_of("alias.py", MODEL, MODEL.replace("8", "16")), editable=["train.py", "alias.py"])
    assert not result.ok and "alias.py, which is not among the editable files" in result.problems[0]


def test_creating_or_deleting_files_outside_the_editable_ones_is_refused(project):
    created = check(project, diff_of("extra.py", None, "VALUE = 1\n"))
    assert not created.ok and created.problems[0].startswith("The diff creates extra.py")
    deleted = check(project, diff_of("model.py", MODEL, None))
    assert not deleted.ok and deleted.problems[0].startswith("The diff deletes model.py")
    assert unchanged(project) and not (project / "extra.py").exists()


def test_creating_and_deleting_editable_files_is_accepted(project):
    diff = diff_of("lib/schedule.py", None, "def warmup(step):\n    return min(1.0, step / 100)\n")
    diff += diff_of("lib/helpers.py", "def twice(x):\n    return 2 * x\n", None)
    result = check(project, diff, editable=["train.py", "lib/"])
    assert result.ok, result.problems
    assert result.files == {"lib/schedule.py": "def warmup(step):\n    return min(1.0, step / 100)\n"}
    assert result.deleted == ["lib/helpers.py"]
    assert (project / "lib" / "helpers.py").exists() and not (project / "lib" / "schedule.py").exists()


def test_a_new_dependency_is_refused_by_name(project):
    result = check(project, diff_of("train.py", TRAIN, "import lightning_fancy\n" + TRAIN))
    assert not result.ok
    assert result.problems == ["train.py now imports lightning_fancy, a new dependency (not in the standard library, "
                               "not imported by the project and not installed); use only what the project already has."]


def test_imports_the_project_already_has_are_no_new_dependency(project):
    (project / "eval.py").write_text("import scipy.stats\n")
    additions = ("import collections\nfrom scipy import optimize\nimport lib.helpers\n"
                 "from model import Net as Other\nfrom . import model\n")
    result = check(project, diff_of("train.py", TRAIN, additions + TRAIN))
    assert result.ok, result.problems


def test_an_installed_package_is_no_new_dependency(project):
    seen = []

    def installed(name: str) -> bool:
        seen.append(name)
        return name == "lightning_fancy"

    result = check(project, diff_of("train.py", TRAIN, "import lightning_fancy\n" + TRAIN), is_installed=installed)
    assert result.ok and seen == ["lightning_fancy"]


def test_a_module_the_diff_creates_is_no_new_dependency(project):
    diff = diff_of("sched.py", None, "RATE = 0.5\n") + diff_of("train.py", TRAIN, "from sched import RATE\n" + TRAIN)
    assert check(project, diff, editable=["train.py", "sched.py"]).ok


def test_a_huge_diff_is_refused_with_its_size(project):
    new = TRAIN + "".join(f"EXTRA_{i} = {i}\n" for i in range(40))
    result = check(project, diff_of("train.py", TRAIN, new), max_changed_lines=30)
    assert not result.ok
    assert result.problems == ["The diff changes 40 lines, more than the limit of 30; send a smaller, focused change."]
    assert check(project, diff_of("train.py", TRAIN, new), max_changed_lines=40).ok


def test_every_problem_is_named_at_once(project):
    diff = diff_of("model.py", MODEL, MODEL + "".join(f"A{i} = {i}\n" for i in range(5)))
    diff += diff_of("data.csv", DATA, DATA + "3,4\n")
    result = check(project, diff, read_only=["data.csv"], max_changed_lines=3)
    assert len(result.problems) == 3
    assert "model.py" in result.problems[0] and "data.csv is read-only" in result.problems[1]
    assert "6 lines" in result.problems[2]


def test_the_one_file_applier_still_tries_both_prefix_styles():
    assert apply_unified_diff("a = 1\n", "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n", "x.py") == "a = 2\n"
    assert apply_unified_diff("a = 1\n", "--- x.py\n+++ x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n", "x.py") == "a = 2\n"
    with pytest.raises(ValueError):
        apply_unified_diff("b = 1\n", "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n", "x.py")


def test_a_git_diff_with_prose_around_it_and_trimmed_blank_lines_applies(project):
    new = TRAIN.replace("LR = 0.1", "LR = 0.03")
    body = diff_of("train.py", TRAIN, new).replace("\n \n", "\n\n")  # the blank context line lost its space
    assert "\n\n" in body
    diff = ("Here is the change:\n\ndiff --git a/train.py b/train.py\nindex 1111111..2222222 100644\n"
            + body + "\nThat lowers the learning rate.\n")
    result = check(project, diff)
    assert result.ok, result.problems
    assert result.files == {"train.py": new} and result.changed_lines == 2


def test_renaming_an_editable_file_to_a_name_outside_the_editable_ones_is_refused(project):
    diff = "diff --git a/train.py b/main.py\nsimilarity index 100%\nrename from train.py\nrename to main.py\n"
    result = check(project, diff)
    assert not result.ok
    assert result.problems == ["The diff renames main.py, which is not among the editable files (train.py); "
                               "change only those."]
    assert unchanged(project)

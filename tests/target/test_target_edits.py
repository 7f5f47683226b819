from __future__ import annotations

import os

import pytest

from aft_tui.errors import UserError
from aft_tui.target.edits import (
    EditBlock,
    EditMatchError,
    apply_edits,
    confine,
    parse_edit_blocks,
    unified_diff,
    write_text_atomic,
)

SOURCE = """\
import torch


def train(model, loader):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(5):
        for x, y in loader:
            loss = model(x, y)
            loss.backward()
            opt.step()
    return model
"""


def test_exact_match():
    out = apply_edits(SOURCE, [EditBlock("lr=1e-3", "lr=args.lr")])
    assert "lr=args.lr)" in out and out.count("\n") == SOURCE.count("\n")


def test_several_blocks_apply_in_order_and_tuples_are_accepted():
    out = apply_edits(SOURCE, [("range(5)", "range(args.epochs)"), ("range(args.epochs)", "range(args.epochs + 1)")])
    assert "range(args.epochs + 1)" in out


def test_ambiguous_match_asks_for_context():
    source = "x = 1\nx = 1\n"
    with pytest.raises(EditMatchError, match="matches 2 places"):
        apply_edits(source, [EditBlock("x = 1\n", "x = 2\n")])


def test_whitespace_tolerant_match_reindents_the_replacement():
    search = "for x, y in loader:\n    loss = model(x, y)   \n    loss.backward()\n"
    replace = "for x, y in loader:\n    loss = model(x, y)\n    loss.backward()\n    clip(model)\n"
    out = apply_edits(SOURCE, [EditBlock(search, replace)])
    assert "            loss.backward()\n            clip(model)\n            opt.step()\n" in out
    # Over-indented search text also matches, and the replacement is shifted back.
    search2 = "            opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
    out2 = apply_edits(SOURCE, [EditBlock(search2, "            opt = torch.optim.SGD(model.parameters(), lr=0.1)\n")])
    assert "\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n" in out2


def test_no_match_says_did_you_mean():
    search = "for epoch in range(10):\n    for x, y in loader:\n"
    with pytest.raises(EditMatchError) as err:
        apply_edits(SOURCE, [EditBlock(search, "")], filename="train.py")
    assert "does not appear in train.py" in str(err.value)
    assert "Did you mean:" in str(err.value)
    assert err.value.closest == "    for epoch in range(5):\n        for x, y in loader:"
    assert isinstance(err.value, UserError)


def test_empty_search_only_creates_new_files():
    assert apply_edits("", [EditBlock("", "print(1)\n")]) == "print(1)\n"
    with pytest.raises(EditMatchError, match="empty SEARCH"):
        apply_edits(SOURCE, [EditBlock("  \n", "x")])


def test_parse_edit_blocks():
    reply = (
        "Here is the change:\n"
        "<<<<<<< SEARCH\n    opt.step()\n=======\n    opt.step()\n    opt.zero_grad()\n>>>>>>> REPLACE\n"
        "and\n<<<<<<< SEARCH\nimport torch\n=======\nimport torch\nimport json\n>>>>>>> REPLACE\n"
    )
    blocks = parse_edit_blocks(reply)
    assert blocks == [
        EditBlock("    opt.step()\n", "    opt.step()\n    opt.zero_grad()\n"),
        EditBlock("import torch\n", "import torch\nimport json\n"),
    ]
    out = apply_edits(SOURCE, blocks)
    assert out.startswith("import torch\nimport json\n") and "opt.zero_grad()" in out


def test_confine_inside_outside_and_symlinks(tmp_path):
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "train.py").write_text("x = 1\n")
    assert confine("src/train.py", root) == (root / "src" / "train.py").resolve()
    assert confine(root / "src" / "new.py", root) == (root / "src" / "new.py").resolve()
    with pytest.raises(UserError, match="outside the project"):
        confine("../elsewhere.py", root)
    with pytest.raises(UserError, match="outside the project"):
        confine("/etc/passwd", root)
    secret = tmp_path / "secret.py"
    secret.write_text("token = 1\n")
    os.symlink(secret, root / "link.py")
    with pytest.raises(UserError, match="outside the project"):
        confine("link.py", root)
    os.symlink(tmp_path, root / "up")
    with pytest.raises(UserError, match="outside the project"):
        confine("up/secret.py", root)


def test_unified_diff_and_atomic_write(tmp_path):
    diff = unified_diff("a = 1\nb = 2\n", "a = 1\nb = 3\n", "pkg/train.py")
    assert diff.splitlines()[:2] == ["--- a/pkg/train.py", "+++ b/pkg/train.py"]
    assert "-b = 2\n+b = 3\n" in diff
    assert unified_diff("x\n", "x\n", "t.py") == ""
    assert "\\ No newline at end of file" in unified_diff("x", "y", "t.py")
    target = tmp_path / "train.py"
    target.write_text("old\n")
    os.chmod(target, 0o755)
    write_text_atomic(target, "new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]

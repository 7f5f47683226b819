"""cookbook/cookbook.ipynb runs top to bottom in a real Jupyter kernel, so the cookbook never rots."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "cookbook" / "cookbook.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for k, v in output.get("data", {}).items() if k == "text/plain")
    return "".join(parts)


def test_cookbook_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's scratch project, removed with tmp_path
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any failure

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = "\n".join(_text(cell) for cell in code)
    assert "learning_rate" in outputs and "'ok': True" in outputs
    assert "working copy: unchanged" in outputs
    assert "Comparing" in outputs and "Parameters" in outputs
    assert "rollback to trial" in outputs
    assert "trial_finished" in outputs
    assert "trial 2: ok, val_acc=" in outputs

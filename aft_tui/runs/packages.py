"""Which PyPI package provides an import, and the command that installs it where AFT runs scripts.

A missing module is named by its import name (`cv2`, `sklearn`, `google.protobuf`), but the fix
names the distribution (`opencv-python`, ...), installed into the interpreter AFT used: the
person's venv, conda environment or `--python`, not the one AFT itself runs in.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

# Import names whose PyPI distribution is called something else. Dotted names are matched first.
PYPI_NAMES: dict[str, str] = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "google.protobuf": "protobuf",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyOpenSSL",
    "serial": "pyserial",
    "jwt": "PyJWT",
    "git": "GitPython",
    "magic": "python-magic",
    "fitz": "PyMuPDF",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "Levenshtein": "python-Levenshtein",
    "sentencepiece": "sentencepiece",
    "tensorboardX": "tensorboardX",
    "torch_geometric": "torch-geometric",
    "lightning_fabric": "lightning-fabric",
    "pytorch_lightning": "pytorch-lightning",
    "umap": "umap-learn",
    "faiss": "faiss-cpu",
    "wx": "wxPython",
    "Bio": "biopython",
    "sentence_transformers": "sentence-transformers",
    "mpl_toolkits": "matplotlib",
}


def pypi_name(module: str) -> str:
    """The PyPI package that provides `module` (an import name, possibly dotted)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        known = PYPI_NAMES.get(".".join(parts[:n]))
        if known:
            return known
    return parts[0]


def pip_command(interpreter: Any, package: str) -> str:
    """The command that installs `package` into the interpreter AFT runs scripts with."""
    spec = shlex.quote(package)
    if interpreter is not None and getattr(interpreter, "conda", None):
        conda = interpreter.conda
        where = f"-p {shlex.quote(conda)}" if "/" in conda else f"-n {shlex.quote(conda)}"
        return f"conda run {where} python -m pip install {spec}"
    if interpreter is not None:
        try:
            python = dataclasses.replace(interpreter, prefix=(), conda=None).command("x.py", [])[0]
        except Exception:  # an odd interpreter object: fall back to the plain command
            python = "python"
    else:
        import sys

        python = sys.executable or "python"
    return f"{shlex.quote(python)} -m pip install {spec}"

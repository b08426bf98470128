"""The Python examples of docs/pipeline.md run as written, without torch."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.pipeline.assets_helper import default_assets


def blocks() -> list[str]:
    text = (REPO / "docs" / "pipeline.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_doc_has_examples():
    assert len(blocks()) >= 3


@pytest.mark.parametrize("i", range(3))
def test_doc_example_runs_without_torch(i, tmp_path):
    if default_assets() is None:
        pytest.skip("the default bundle (edgebind/assets/default) is not built in this checkout")
    code = "import sys; sys.modules['torch'] = None\n" + blocks()[i]
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip()

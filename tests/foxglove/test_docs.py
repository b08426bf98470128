"""docs/foxglove.md tells the truth: its command lines parse, its layout path exists."""
from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import REPO

DOC = (REPO / "docs" / "foxglove.md").read_text()


def _lines() -> list[str]:
    return [ln.split("  #")[0].strip() for b in re.findall(r"```bash\n(.*?)```", DOC, re.S)
            for ln in b.splitlines() if ln.startswith("edgebind ")]


@pytest.mark.parametrize("line", _lines())
def test_command_lines_parse(line):
    from edgebind import cli
    args = cli.build_parser().parse_args(shlex.split(line)[1:])
    assert args.foxglove[0] in ("127.0.0.1", "0.0.0.0")


def test_the_layout_named_is_shipped():
    from edgebind.foxglove import layout_path
    assert "edgebind/foxglove/layout.json" in DOC and layout_path().is_file()

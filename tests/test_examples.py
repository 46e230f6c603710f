"""The fast tier's notebook half: every notebook's examples, in-process, as `nbdev_test` runs them, less two kinds of cell.

`make test` runs every cell of every notebook with `nbdev_test --flags slow`. `make test-fast` runs this instead: the
same cells, in the same way (nbdev's own reading of the directives, execnb's shell, the notebook's folder as the
working directory), but not the cells flagged `#| slow` (each is a test that starts kernels, servers or processes),
and not a stage notebook's `## Run the stage` section, which, run by hand, first runs the stages it reads: an
end-to-end test, which `make test` and the pytest tests cover.
"""
import json
from pathlib import Path

import pytest
from execnb.shell import CaptureShell
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor

from trainpipe.contract import RUN_HEADING, is_stage_notebook

pytestmark = [pytest.mark.fast, pytest.mark.examples]
NBS = Path(__file__).resolve().parent.parent/"nbs"
SKIPPED = {"slow", "cuda"}  # settings.ini's tst_flags


def _runs(cell) -> bool:
    "Whether `nbdev_test` without --flags would run `cell` (its `_no_eval`, inverted)."
    directives = getattr(cell, "directives_", {}) or {}
    return cell.cell_type == "code" and directives.get("eval:", [""])[0].lower() != "false" and not SKIPPED & directives.keys()


@pytest.mark.parametrize("name", sorted(p.name for p in NBS.glob("*.ipynb")))
def test_examples(name, monkeypatch):
    path = NBS/name
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    if is_stage_notebook(json.loads(path.read_text())):
        nb.cells = nb.cells[:next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.lstrip().startswith(RUN_HEADING))]
    monkeypatch.chdir(NBS)
    monkeypatch.setenv("IN_TEST", "1")
    shell = CaptureShell(path)
    try: shell.run_all(nb, exc_stop=True, preproc=lambda cell: not _runs(cell))
    except Exception: pytest.fail(f"{name}: {shell.prettytb(fname=path)}", pytrace=False)

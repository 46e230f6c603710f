"""The notebooks as sources: papermill's parameters tag survives nbdev_clean, stages are runnable, README is generated."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trainpipe.config import Config, stage_parameters
from trainpipe.pipeline import notebook_parameters, stage_notebook

NBDEV_CLEAN = Path(sys.executable).parent/"nbdev_clean"


def parameter_tags(nb: Path) -> list:
    return [c["metadata"].get("tags") for c in json.loads(nb.read_text())["cells"] if "parameters" in c["metadata"].get("tags", [])]


@pytest.mark.parametrize("keep_tags", [True, False])
def test_parameters_tag_survives_nbdev_clean_only_with_the_setting(project, tmp_path, keep_tags):
    settings = (project/"settings.ini").read_text()
    assert "allowed_cell_metadata_keys = tags" in settings
    if not keep_tags: settings = settings.replace("allowed_cell_metadata_keys = tags", "allowed_cell_metadata_keys =")
    (tmp_path/"settings.ini").write_text(settings)
    (tmp_path/"nbs").mkdir()
    nb = tmp_path/"nbs"/"10_data.ipynb"
    shutil.copy(project/"nbs/10_data.ipynb", nb)
    subprocess.run([str(NBDEV_CLEAN), "--fname", str(nb)], cwd=tmp_path, check=True, capture_output=True)
    assert parameter_tags(nb) == ([["parameters"]] if keep_tags else [])


def test_every_default_stage_has_a_parameters_cell_fed_by_the_config(project):
    names = set(stage_parameters(Config())) | {"run_dir", "mlflow_run_id"}
    for stage in Config().pipeline.stages:
        nb = stage_notebook(project/"nbs", stage)
        assert parameter_tags(nb) == [["parameters"]], nb.name
        params = notebook_parameters(nb)
        assert "run_dir" in params and set(params) <= names, (nb.name, set(params) - names)


def test_readme_is_generated_from_the_index_notebook(project):
    from nbconvert import MarkdownExporter
    body, _ = MarkdownExporter().from_filename(str(project/"nbs/index.ipynb"))
    assert (project/"README.md").read_text() == body, "README.md is stale: run `make readme`"


def test_a_stage_notebook_runs_by_hand_in_a_real_kernel(project):
    "As in JupyterLab: the last stage, on its defaults, in a kernel started in nbs/, with no run folder prepared."
    import nbformat
    from nbclient import NotebookClient
    before = sorted(p.name for p in (project/"nbs").iterdir())
    nb = nbformat.read(project/"nbs/50_register.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(project/"nbs")}}, timeout=600).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "model: " in printed
    assert sorted(p.name for p in (project/"nbs").iterdir()) == before  # nothing written into nbs/

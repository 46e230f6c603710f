"""One source of defaults: every stage notebook's parameters cell and configs/default.yaml hold exactly `Config()`'s values."""
import ast
import json
from pathlib import Path

import pytest

from trainpipe.config import Config, load_config, resolve_source, stage_parameters
from trainpipe.pipeline import RUN_VALUES, notebook_parameters

from conftest import PROJECT

pytestmark = pytest.mark.fast  # in the fast tier (`make test-fast`): in-process, no pipeline run

STAGES = sorted(p for p in (PROJECT/"nbs").glob("[0-9]*_*.ipynb") if
                any("parameters" in c.get("metadata", {}).get("tags", []) for c in json.loads(p.read_text())["cells"]))


def parameters_cell(nb: Path) -> dict:
    "The values the notebook's `parameters` cell assigns, each read with `ast.literal_eval`."
    cell = next(c for c in json.loads(nb.read_text())["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {}
    for node in ast.parse("".join(cell["source"])).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), \
            f"{nb.name}: the parameters cell holds only plain assignments (`name = value`), not: {ast.unparse(node)}"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_the_stage_notebooks_are_found():
    assert {"10_data", "20_features", "31_train", "35_tune", "40_evaluate", "50_register"} <= {p.stem for p in STAGES}


@pytest.mark.parametrize("nb", STAGES, ids=lambda p: p.stem)
def test_a_stage_notebooks_parameters_are_the_configs_defaults(nb):
    "So a stage that papermill runs with no parameters computes what `trainpipe run` computes with the default config."
    values, defaults = parameters_cell(nb), stage_parameters(Config())
    assert list(values) == notebook_parameters(nb)
    assert values.get("run_dir", "missing") is None  # the run folder is per run: the runner gives it, by hand a temporary one
    assert values.get("mlflow_run_id") is None
    unknown = sorted(set(values) - set(defaults) - set(RUN_VALUES))
    assert not unknown, f"{nb.name} declares parameters no config key feeds: {unknown}"
    differ = {k: (v, defaults[k]) for k, v in values.items() if k in defaults and (v != defaults[k] or type(v) is not type(defaults[k]))}
    assert not differ, f"{nb.name}: parameter -> (its value, Config()'s default): {differ}"


def test_default_yaml_states_the_defaults():
    "configs/default.yaml is the defaults spelled out for reading; `trainpipe run` with and without it is the same run."
    assert load_config(PROJECT/"configs/default.yaml", project=PROJECT) == load_config(None, project=PROJECT)


@pytest.mark.parametrize("where", ["root", "nbs", "elsewhere"])
def test_the_default_data_source_is_the_projects_file_from_any_folder(where, tmp_path, monkeypatch):
    "The data stage resolves `data_source` as `load_config` resolves a config file's `data.source`."
    monkeypatch.chdir({"root": PROJECT, "nbs": PROJECT/"nbs", "elsewhere": tmp_path}[where])
    source = resolve_source(Config().data.source)
    assert source == str(PROJECT/"data/penguins.csv") == load_config(None).data.source
    assert Path(source).is_file()
    assert resolve_source(source) == source  # what `trainpipe run` passes is absolute already

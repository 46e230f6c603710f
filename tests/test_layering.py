"""Modules import only from modules before them: core → config → … → pipeline → cli."""
import ast

import pytest

pytestmark = pytest.mark.fast  # in the fast tier (`make test-fast`): in-process, no pipeline run

LAYERS = ["core", "config", "store", "tracking", "cache", "kernels", "colab", "contract", "sources", "schema", "data", "features", "neural", "models", "evaluate", "tune", "train", "scoring", "serve", "batch", "monitor", "register", "pipeline", "tasks", "sweep", "airflow_dag", "kubeflow", "team", "cli"]


def trainpipe_imports(path) -> set:
    "The trainpipe modules a file imports at any depth (inside functions too)."
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trainpipe."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("trainpipe.")}
    return found


def test_every_module_has_a_layer(project):
    modules = {p.stem for p in (project/"trainpipe").glob("*.py")} - {"__init__", "_modidx"}
    assert modules == set(LAYERS)


def test_imports_point_down_the_layers(project):
    for i, name in enumerate(LAYERS):
        upward = {m for m in trainpipe_imports(project/"trainpipe"/f"{name}.py") if LAYERS.index(m) >= i}
        assert not upward, f"trainpipe.{name} imports {upward}, which come after it"


def test_the_layering_check_catches_an_upward_import(tmp_path):
    bad = tmp_path/"config.py"
    bad.write_text("def f():\n    from trainpipe.pipeline import run_pipeline\n")
    assert trainpipe_imports(bad) == {"pipeline"}


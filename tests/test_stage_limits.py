"""Per-stage timeout and retries, and kernels that die: stage notebooks written for the test, in a project of their own."""
import json
import shutil

import nbformat
import pytest

from trainpipe.config import load_config
from trainpipe.pipeline import run_pipeline


@pytest.fixture
def project(tmp_path, project):
    "A project whose nbs/ holds stage notebooks that sleep, die, or fail once."
    root = tmp_path/"proj"
    (root/"nbs").mkdir(parents=True)
    shutil.copy(project/"settings.ini", root)
    def stage(name, code):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nb.cells = [nbformat.v4.new_code_cell("run_dir = None", metadata={"tags": ["parameters"]}),
                    nbformat.v4.new_code_cell("import os, time\nfrom pathlib import Path"), nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, root/"nbs"/f"10_{name}.ipynb")
    stage("sleepy", "time.sleep(120)")
    stage("dies", "os._exit(3)")
    stage("flaky", "marker = Path(run_dir)/'tried'\nif not marker.exists():\n    marker.touch()\n    raise RuntimeError('first time fails')")
    return root


def run(project, tmp_path, stage, *overrides):
    cfg = load_config(None, [f"pipeline.stages=[{stage}]", *overrides], project=project)
    return run_pipeline(cfg, project=project, runs_dir=tmp_path/"runs", track=False)


def test_a_stage_past_its_timeout_is_stopped_and_named(project, tmp_path):
    result = run(project, tmp_path, "sleepy", "pipeline.timeout=4")
    assert result.status == "FAILED"
    assert result.error.startswith("stage 'sleepy' failed: it ran past pipeline.timeout (4s); its kernel was stopped in cell 3 (`time.sleep(120)`)")
    assert result.seconds < 60


def test_a_kernel_that_dies_is_reported_with_its_last_cell(project, tmp_path):
    result = run(project, tmp_path, "dies")
    assert result.status == "FAILED"
    assert "the kernel died (out of memory, or killed) in cell 3 (`os._exit(3)`)" in result.error
    assert str(result.run_dir/"10_dies.ipynb") in result.error


def test_retries_run_a_failed_stage_again(project, tmp_path):
    assert run(project, tmp_path, "flaky").error.startswith("stage 'flaky' failed: RuntimeError: first time fails")
    again = run(project, tmp_path/"second", "flaky", "pipeline.retries=1")
    assert again.status == "FINISHED" and again.error is None
    assert json.loads((again.run_dir/"run.json").read_text())["status"] == "FINISHED"

"""The template's own CI and hooks: the GitHub workflows pass actionlint, and the pre-commit hooks pass on the project."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, project_copy

BIN = Path(sys.executable).parent
WORKFLOWS = PROJECT/".github"/"workflows"


def actionlint(*files) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN/"actionlint"), "-no-color", *map(str, files)], cwd=PROJECT, capture_output=True, text=True, timeout=120)


@pytest.mark.fast
def test_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {f.stem for f in files} >= {"test", "docs", "pipeline"}
    proc = actionlint(*files)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


@pytest.mark.fast
def test_actionlint_finds_a_broken_workflow(tmp_path):
    "The check above can fail: a workflow with an unknown key and a job on an undefined runner label is refused."
    broken = tmp_path/"broken.yaml"
    broken.write_text((WORKFLOWS/"pipeline.yaml").read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-lastest\n    timeout: 5"))
    proc = actionlint(broken)
    assert proc.returncode != 0 and "timeout" in proc.stdout and "ubuntu-lastest" in proc.stdout, proc.stdout


@pytest.mark.fast
def test_pre_commit_config_is_valid():
    proc = subprocess.run([str(BIN/"pre-commit"), "validate-config", ".pre-commit-config.yaml"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_commit_hooks_pass_on_the_project(tmp_path):
    "nbdev_clean, the export check, ruff and actionlint find nothing to change in the project, offline."
    repo = project_copy(tmp_path/"repo", git=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path/"pre-commit-home"), "NO_COLOR": "1"}
    proc = subprocess.run([str(BIN/"pre-commit"), "run", "--all-files", "--show-diff-on-failure", "--color", "never"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for hook in ("nbdev_clean", "notebooks and trainpipe/ agree", "ruff (", "actionlint"):
        assert hook in proc.stdout and "Passed" in proc.stdout.split(hook, 1)[1].splitlines()[0], proc.stdout


@pytest.mark.fast
def test_the_linter_finds_an_undefined_name_and_an_unused_import(tmp_path):
    "The pre-commit hook's ruff, with the project's settings, catches the mistakes that are bugs."
    bad = tmp_path/"bad.py"
    bad.write_text("import os\n\ndef f():\n    return undefined_name\n")
    proc = subprocess.run([str(BIN/"ruff"), "check", "--config", str(PROJECT/"pyproject.toml"), "--output-format", "concise", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "F401" in proc.stdout and "F821" in proc.stdout, proc.stdout + proc.stderr

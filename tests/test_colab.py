"""Colab: each stage notebook's badge opens that notebook, the setup cell does nothing off Colab, and a simulated Colab
runtime (a stand-in google.colab, a fresh virtual environment) installs the project the setup cell's way and runs a
torch stage notebook."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from trainpipe.colab import COLAB_NOTEBOOKS, project_settings, setup_cell


def test_every_stage_notebook_starts_with_its_own_badge_and_the_setup_cell(project):
    settings = project_settings(project)
    for name in COLAB_NOTEBOOKS:
        cells = json.loads((project/"nbs"/name).read_text())["cells"]
        url = re.fullmatch(r"\[!\[Open In Colab\]\([^)]+\)\]\((\S+)\)", "".join(cells[0]["source"])).group(1)
        prefix = f"https://colab.research.google.com/github/{settings['user']}/{settings['repo']}/blob/{settings['branch']}/"
        assert url == f"{prefix}nbs/{name}", name
        assert (project/url.removeprefix(prefix)).is_file()
        assert "".join(cells[1]["source"]) == setup_cell(settings), name


def test_the_setup_cell_does_nothing_outside_colab(project, tmp_path):
    content = tmp_path/"content"
    code = setup_cell(project_settings(project)) + "\nprint(os.getcwd())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TRAINPIPE_COLAB_DIR": str(content), "TRAINPIPE_GIT_URL": str(project)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path) and not content.exists()


def test_a_simulated_colab_runtime_installs_the_project_and_runs_a_torch_stage(project, tmp_path):
    "Colab has torch, pandas and the rest preinstalled but not trainpipe; here they come from this environment's packages."
    venv = tmp_path/"colab-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    preinstalled = Path(torch.__file__).resolve().parent.parent
    (site/"preinstalled.pth").write_text(f"{preinstalled}\n")  # a plain path: the editable trainpipe install there is not seen
    (site/"google"/"colab").mkdir(parents=True)
    (site/"google"/"colab"/"__init__.py").write_text('"A stand-in for Colab\'s google.colab."\n')
    python = venv/"bin"/"python"
    check = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('trainpipe') is None, u.find_spec('google.colab') is not None)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.stdout.split() == ["True", "True"], check.stderr  # no trainpipe yet; Colab's module importable
    env = {**os.environ, "TRAINPIPE_GIT_URL": str(project), "TRAINPIPE_COLAB_DIR": str(tmp_path/"content"),
           "PATH": f"{venv/'bin'}:{os.environ['PATH']}", "MLFLOW_TRACKING_URI": ""}
    out = tmp_path/"31_train.ipynb"
    proc = subprocess.run([python, "-m", "papermill", str(project/"nbs"/"31_train.ipynb"), str(out), "-k", "python3",
                           "-p", "model_name", "neural", "-y", "model_params: {epochs: 2, device: auto}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    clone = tmp_path/"content"/"trainpipe"
    assert (clone/"nbs"/"31_train.ipynb").is_file() and (clone/"trainpipe"/"neural.py").is_file()
    text = out.read_text()
    assert "fitted TorchClassifier" in text and "epoch 2/2" in text

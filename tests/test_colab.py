"""Colab and the notebooks' layout: each stage notebook opens on its title, then its own badge and the collapsed setup
cell; nbdev_clean keeps that layout and papermill still finds the parameters; the setup cell does nothing off Colab and
stops with one sentence when it cannot clone; and a simulated Colab runtime (a stand-in google.colab, a fresh virtual
environment with a runtime-pinned ipykernel) runs a fork's setup cell: it clones the fork's own URL, generated from the
fork's settings.ini, installs the fork's code without replacing the pinned package, and runs a torch stage."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import torch
from nbdev.clean import _nbdev_clean
from papermill.iorw import load_notebook_node
from papermill.utils import find_first_tagged_cell_index

from trainpipe.colab import COLAB_NOTEBOOKS, HIDDEN, SETUP_TAG, add_colab_cells, project_settings, setup_cell
from trainpipe.contract import PARAMETERS_TAG, is_stage_notebook

PINNED = "6.29.5"  # the "runtime's" ipykernel: older than this environment's, and enough for trainpipe


def _text(cell) -> str: return "".join(cell["source"])


def _said(outputs) -> str:
    "What a cell's outputs printed."
    return "".join(t if isinstance(t := o.get("text", ""), str) else "".join(t) for o in outputs)


def test_every_stage_notebook_opens_on_its_title_then_its_badge_and_the_collapsed_setup_cell(project):
    settings = project_settings(project)
    stages = {p.name for p in (project/"nbs").glob("*.ipynb") if is_stage_notebook(json.loads(p.read_text()))}
    assert stages <= set(COLAB_NOTEBOOKS), stages - set(COLAB_NOTEBOOKS)
    for name in COLAB_NOTEBOOKS:
        cells = json.loads((project/"nbs"/name).read_text())["cells"]
        assert re.match(r"# \S.*\n> \S", _text(cells[0])), name  # the title and its one-line summary
        url = re.fullmatch(r"\[!\[Open In Colab\]\([^)]+\)\]\((\S+)\)", _text(cells[1])).group(1)
        prefix = f"https://colab.research.google.com/github/{settings['user']}/{settings['repo']}/blob/{settings['branch']}/"
        assert url == f"{prefix}nbs/{name}", name
        assert (project/url.removeprefix(prefix)).is_file()
        assert _text(cells[2]) == setup_cell(settings) and cells[2]["metadata"]["jupyter"] == HIDDEN, name
        assert _text(cells[3]).startswith("#| default_exp") and cells[3]["metadata"]["jupyter"] == HIDDEN, name
        if name in stages:  # papermill, reading it its way, injects the parameters after the set-up cells
            assert find_first_tagged_cell_index(load_notebook_node(str(project/"nbs"/name)), PARAMETERS_TAG) > 3, name  # papermill injects after the set-up cells


def test_nbdev_clean_keeps_the_layout_tags_and_collapsed_cells_and_drops_outputs(project, tmp_path):
    nb = json.loads((project/"nbs"/"20_features.ipynb").read_text())
    setup = next(c for c in nb["cells"] if SETUP_TAG in c["metadata"].get("tags", []))
    setup["outputs"], setup["metadata"]["collapsed"] = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}], True
    _nbdev_clean(nb, path=project/"nbs"/"20_features.ipynb")
    assert setup["metadata"] == {"jupyter": HIDDEN, "tags": [SETUP_TAG]}  # Lab's own keys go, ours stay
    assert any(PARAMETERS_TAG in c["metadata"].get("tags", []) for c in nb["cells"])
    (tmp_path/"nbs").mkdir()
    shutil.copy(project/"settings.ini", tmp_path)
    (tmp_path/"nbs"/"20_features.ipynb").write_text(json.dumps(nb))
    assert add_colab_cells(tmp_path) == ["20_features.ipynb"] and add_colab_cells(tmp_path) == []
    cells = json.loads((tmp_path/"nbs"/"20_features.ipynb").read_text())["cells"]
    assert not any(c.get("outputs") for c in cells)  # what was saved after a run goes


def test_the_setup_cell_does_nothing_outside_colab(project, tmp_path):
    content = tmp_path/"content"
    code = setup_cell(project_settings(project)) + "\nprint(os.getcwd())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TRAINPIPE_COLAB_DIR": str(content), "TRAINPIPE_GIT_URL": str(project)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path) and not content.exists()


def _fake_colab(site: Path):
    (site/"google"/"colab").mkdir(parents=True)
    (site/"google"/"colab"/"__init__.py").write_text('"A stand-in for Colab\'s google.colab."\n')


def _one_cell_notebook(source: str, path: Path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, path)


def test_the_setup_cell_stops_with_one_next_step_when_it_cannot_clone(project, tmp_path):
    _fake_colab(tmp_path/"site")
    _one_cell_notebook(setup_cell({**project_settings(project), "user": "nobody"}), tmp_path/"setup.ipynb")
    env = {**os.environ, "PYTHONPATH": str(tmp_path/"site"), "TRAINPIPE_COLAB_DIR": str(tmp_path/"content"),
           "TRAINPIPE_GIT_URL": str(tmp_path/"no-such-repo")}
    proc = subprocess.run([sys.executable, "-m", "papermill", str(tmp_path/"setup.ipynb"), str(tmp_path/"out.ipynb"), "-k", "python3"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    outputs = [o for c in json.loads((tmp_path/"out.ipynb").read_text())["cells"] for o in c.get("outputs", [])]
    error = next(o for o in outputs if o["output_type"] == "error")
    assert error["traceback"] == [f"Colab setup stopped: git could not clone {tmp_path/'no-such-repo'} (above: why); check that it and its "
                                  "branch main exist and are public, or set TRAINPIPE_GIT_URL to a URL git can clone, then run this cell again"]
    assert "cloning" in _said(outputs)  # it said what it was doing


def test_a_simulated_colab_runtime_installs_a_fork_keeping_its_pinned_packages_and_runs_a_torch_stage(project, tmp_path):
    """Colab has torch, pandas and the rest preinstalled but not trainpipe; here they come from this environment's
    packages, and the runtime's own ipykernel is an older one. The fork is a clone of this project whose settings.ini
    names another user, synced as the README says; git serves its GitHub URL from the local folder."""
    fork = tmp_path/"github"/"ana"/"trainpipe"
    subprocess.run(["git", "clone", "--quiet", str(project), str(fork)], check=True)
    settings = (fork/"settings.ini").read_text()
    (fork/"settings.ini").write_text(re.sub(r"(?m)^user = .*$", "user = ana", settings))
    add_colab_cells(fork)  # `make sync`'s step that writes the badges and setup cells
    who = {"GIT_AUTHOR_NAME": "ana", "GIT_AUTHOR_EMAIL": "ana@example.invalid", "GIT_COMMITTER_NAME": "ana",
           "GIT_COMMITTER_EMAIL": "ana@example.invalid"}
    subprocess.run(["git", "-C", str(fork), "commit", "--quiet", "-am", "a fork"], check=True, env={**os.environ, **who})

    venv = tmp_path/"colab-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), f"ipykernel=={PINNED}"],
                   check=True, timeout=300)
    preinstalled = Path(torch.__file__).resolve().parent.parent
    (site/"preinstalled.pth").write_text(f"{preinstalled}\n")  # a plain path: the editable trainpipe install there is not seen
    _fake_colab(site)
    python = venv/"bin"/"python"
    check = subprocess.run([python, "-c", "import importlib.util as u, ipykernel; print(u.find_spec('trainpipe') is None, "
                            "u.find_spec('google.colab') is not None, ipykernel.__version__)"], capture_output=True, text=True, cwd=tmp_path)
    assert check.stdout.split() == ["True", "True", PINNED], check.stderr  # no trainpipe yet; Colab's module; the pinned kernel
    env = {**os.environ, "TRAINPIPE_COLAB_DIR": str(tmp_path/"content"), "PATH": f"{venv/'bin'}:{os.environ['PATH']}",
           "MLFLOW_TRACKING_URI": "", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.file://{tmp_path/'github'}/.insteadOf",
           "GIT_CONFIG_VALUE_0": "https://github.com/",
           # Colab's nbconvert has its page templates in the runtime's share/jupyter; the stand-in's are this environment's
           "JUPYTER_PATH": str(preinstalled.parents[2]/"share"/"jupyter")}
    env.pop("TRAINPIPE_GIT_URL", None)
    out = tmp_path/"31_train.ipynb"
    proc = subprocess.run([python, "-m", "papermill", str(fork/"nbs"/"31_train.ipynb"), str(out), "-k", "python3",
                           "-p", "model_name", "neural", "-y", "model_params: {epochs: 2, device: auto}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = _said(json.loads(out.read_text())["cells"][2]["outputs"])
    assert "cloning https://github.com/ana/trainpipe (main)" in said and "ready: trainpipe from" in said, said
    clone = tmp_path/"content"/"trainpipe"
    assert "user = ana" in (clone/"settings.ini").read_text()  # the fork's code, not upstream's
    where = subprocess.run([python, "-c", "import trainpipe; print(trainpipe.__file__)"], capture_output=True, text=True, cwd=tmp_path)
    assert where.stdout.strip() == str(clone/"trainpipe"/"__init__.py"), where.stderr
    assert [p.name for p in site.glob("ipykernel-*.dist-info")] == [f"ipykernel-{PINNED}.dist-info"]  # not replaced
    assert "fitted TorchClassifier" in out.read_text()

"""The stage contract: adding a stage is one notebook and one config entry, and the runner logs what it declares."""
import shutil

import nbformat
from mlflow import MlflowClient

from conftest import last_json, trainpipe

AUDIT = '''from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trainpipe.store import declare, load_frame

train = load_frame(Path(run_dir)/"data"/"train.parquet")
fig, ax = plt.subplots()
train[data_target].value_counts().plot.bar(ax=ax)
declare(Path(run_dir)/"audit", metrics={"audit_classes": train[data_target].nunique()}, params={"audit_version": 2},
        tags={"audited": "yes"}, figures={"class_counts": fig})'''


def test_a_new_stage_is_one_notebook_and_one_config_entry(project, tmp_path, store):
    "A toy stage in a copy of the project declares a metric, a param, a figure and a tag; all reach the MLflow run with no runner change."
    copy = tmp_path/"project"
    shutil.copytree(project/"nbs", copy/"nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(project/"settings.ini", copy)
    (copy/"data").mkdir()
    shutil.copy(project/"data"/"penguins.csv", copy/"data")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Audit\n> Count the classes of the training rows."),
        nbformat.v4.new_code_cell('data_target = "species"\nrun_dir = None', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## Run the stage"), nbformat.v4.new_code_cell(AUDIT)])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, copy/"nbs"/"90_audit.ipynb")
    (copy/"audit.yaml").write_text("experiment: audit\ndata: {source: data/penguins.csv, target: species}\n"
                                   "pipeline: {stages: {data: {}, audit: {after: data}}}\n")
    proc = trainpipe("run", "audit.yaml", "--json", "--tracking-uri", store, "--runs-dir", tmp_path/"runs", cwd=copy)
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert result["metrics"]["audit_classes"] == 3
    client = MlflowClient(store)
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.metrics["audit_classes"] == 3 and run.data.params["audit_version"] == "2" and run.data.tags["audited"] == "yes"
    assert "plots/class_counts.png" in {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "notebooks/90_audit.ipynb" in {a.path for a in client.list_artifacts(run.info.run_id, "notebooks")}

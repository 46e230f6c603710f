"""Bad input and failing stages: one clear sentence, a non-zero exit, nothing half-written or registered."""
import json

import pytest
from mlflow import MlflowClient

from conftest import last_json, trainpipe
from trainpipe.cli import main


def no_runs_recorded(uri) -> bool:
    client = MlflowClient(uri)
    return not client.search_runs([e.experiment_id for e in client.search_experiments()]) and not client.search_registered_models()


BAD_INPUTS = [  # (arguments after `run`, words the one-line message must contain)
    (["configs/default.yaml", "-p", "data.sorce=x.csv"], ["unknown config key 'data.sorce'", "did you mean 'source'"]),
    (["configs/default.yaml", "-p", "colour=red"], ["unknown config key 'colour'", "valid keys here are"]),
    (["configs/default.yaml", "-p", "split.test_size=abc"], ["'split.test_size' must be a number", "'abc'"]),
    (["configs/default.yaml", "-p", "split.random_state=1.5"], ["'split.random_state' must be an integer"]),
    (["configs/default.yaml", "-p", "split.test_size=1.5"], ["'split.test_size' must be between 0 and 1"]),
    (["configs/default.yaml", "-p", "model.name=xgboost"], ["unknown model.name 'xgboost'", "random_forest", "ridge"]),
    (["configs/default.yaml", "-p", "model.params.n_estimator=5"], ["model.params.n_estimator", "did you mean 'n_estimators'"]),
    (["configs/default.yaml", "-p", "model.name=linear_regression"], ["does not do classification"]),
    (["configs/default.yaml", "-p", "features.numeric=zscore"], ["unknown features.numeric 'zscore'", "standard"]),
    (["configs/default.yaml", "-p", "data.source=nowhere.csv"], ["data.source", "nowhere.csv", "does not exist"]),
    (["configs/default.yaml", "-p", "data.target=colour"], ["target column 'colour'", "species"]),
    (["configs/default.yaml", "-p", "pipeline.stages=[data, deploy]"], ["pipeline stage 'deploy'"]),
    (["configs/default.yaml", "-p", "split.test_size"], ["must look like key=value"]),
    (["configs/nope.yaml"], ["config file 'configs/nope.yaml' does not exist"]),
]


@pytest.mark.parametrize("args,words", BAD_INPUTS, ids=[" ".join(a[1:]) or a[0] for a, _ in BAD_INPUTS])
def test_bad_config_is_one_clear_line_before_anything_runs(project, tmp_path, store, monkeypatch, capsys, args, words):
    monkeypatch.chdir(project)
    code = main(["run", *args, "--tracking-uri", store, "--runs-dir", str(tmp_path/"runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("trainpipe: error: ") and "\n" not in err, err
    for w in words: assert w in err, (w, err)
    assert not (tmp_path/"runs").exists()
    assert no_runs_recorded(store)


@pytest.mark.parametrize("content,words", [
    (b"", ["is empty"]),
    (b"a,b,target\n", ["has a header but no rows"]),
    (bytes(range(256)) * 8, ["cannot be read as .csv"]),
], ids=["empty", "header-only", "binary"])
def test_unreadable_data_files_are_named(project, tmp_path, store, monkeypatch, capsys, content, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path/"bad.csv").write_bytes(content)
    code = main(["run", str(project/"configs/simple.yaml"), "-p", "data.source=bad.csv", "--tracking-uri", store,
                 "--runs-dir", str(tmp_path/"runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    for w in ["data.source", "bad.csv", *words]: assert w in err, (w, err)
    assert not (tmp_path/"runs").exists() and no_runs_recorded(store)


def test_broken_yaml_config_names_the_line(tmp_path, store, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path/"bad.yaml").write_text("data:\n  source: x.csv\nmodel: [unclosed\n")
    assert main(["run", "bad.yaml", "--tracking-uri", store]) == 2
    assert capsys.readouterr().err.strip() == "trainpipe: error: config file 'bad.yaml' is not valid YAML at line 4; fix the syntax there"


def test_the_console_script_prints_no_traceback(project, store):
    proc = trainpipe("run", "-p", "model.name=xgboost", "--tracking-uri", store)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("trainpipe: error: unknown model.name 'xgboost'; choose one of: extra_trees, gradient_boosting, "
                                   "hist_gradient_boosting, linear_regression, logistic_regression, random_forest, ridge")
    assert proc.stdout == ""


def test_failing_stage_stops_the_pipeline_and_keeps_its_notebook(project, tmp_path, store):
    # the name is valid, so the config check passes; the value is the estimator's to reject when it is fitted
    proc = trainpipe("run", "configs/default.yaml", "-p", "model.params.n_estimators=-3", "--json",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    result = last_json(proc.stdout)
    assert result["status"] == "FAILED" and result["model_uri"] is None
    notebook = tmp_path/"runs"/result["run_id"]/"31_train.ipynb"
    message = [l for l in proc.stderr.splitlines() if l.startswith("trainpipe: stage")]
    assert message == [f"trainpipe: stage 'train' failed: InvalidParameterError: The 'n_estimators' parameter of "
                       f"RandomForestClassifier must be an int in the range [1, inf). Got -3 instead.; "
                       f"the executed notebook with the failing cell is {notebook}"]
    cells = json.loads(notebook.read_text())["cells"]
    assert any(o.get("output_type") == "error" and o["ename"] == "InvalidParameterError" for c in cells for o in c.get("outputs", []))
    assert not (tmp_path/"runs"/result["run_id"]/"40_evaluate.ipynb").exists()  # later stages did not run
    assert not (tmp_path/"runs"/result["run_id"]/"train"/"model.skops").exists()
    client = MlflowClient(store)
    run = client.get_run(result["run_id"])
    assert run.info.status == "FAILED" and run.data.tags["failed_stage"] == "train"
    assert "notebooks/31_train.ipynb" in {a.path for a in client.list_artifacts(run.info.run_id, "notebooks")}
    assert not client.search_registered_models()

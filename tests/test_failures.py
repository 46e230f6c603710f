"""Bad input and failing stages: one clear sentence, a non-zero exit, nothing half-written or registered."""
import json
import socket

import pytest
from mlflow import MlflowClient

from conftest import last_json, trainpipe
from trainpipe.cli import main


def no_runs_recorded(uri) -> bool:
    client = MlflowClient(uri)
    return not client.search_runs([e.experiment_id for e in client.search_experiments()]) and not client.search_registered_models()


BAD_INPUTS = [  # (arguments after `run`, words the one-line message must contain)
    (["configs/default.yaml", "-p", "data.sorce=x.csv"], ["unknown config key 'data.sorce'", "did you mean 'data.source'"]),
    (["configs/default.yaml", "-p", "colour=red"], ["unknown config key 'colour'", "valid keys here are"]),
    (["configs/default.yaml", "-p", "split.test_size=abc"], ["'split.test_size' must be a number", "'abc'"]),
    (["configs/default.yaml", "-p", "split.random_state=1.5"], ["'split.random_state' must be an integer"]),
    (["configs/default.yaml", "-p", "split.test_size=1.5"], ["'split.test_size' must be between 0 and 1"]),
    (["configs/default.yaml", "-p", "model.name=xgboost"], ["unknown model.name 'xgboost'", "random_forest", "ridge"]),
    (["configs/default.yaml", "-p", "model.params.n_estimator=5"], ["model.params.n_estimator", "did you mean 'model.params.n_estimators'"]),
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


def _sqlite(path):
    import sqlite3
    with sqlite3.connect(path) as db:
        db.execute("create table orders (amount real, target int)")
        db.executemany("insert into orders values (?, ?)", [(1.0, 0), (2.0, 1), (3.0, 0), (4.0, 1), (5.0, 0)])
    return f"sqlite:///{path}"


def _text_folder(path):
    path.mkdir()
    (path/"review.txt").write_text("a text with no label folder around it")
    return str(path)


BAD_DATA = [  # (id, file content or a maker of the source, more overrides, words the message must contain)
    ("missing file", None, [], ["nowhere.csv", "does not exist"]),
    ("empty file", b"", [], ["bad.csv", "is empty"]),
    ("header only", b"a,b,target\n", [], ["bad.csv", "has no rows"]),
    ("binary garbage", bytes(range(256)) * 8, [], ["bad.csv", "is not text"]),
    ("wrong delimiter", b"a;b;target\n1;2;0\n3;4;1\n", ['data.delimiter=","'], ["target column 'target' is not in the data", "a;b;target"]),
    ("missing target column", b"a,b,label\n1,2,0\n3,4,1\n", [], ["target column 'target' is not in the data", "a, b, label"]),
    ("target all missing", b"a,target\n1,\n2,\n", [], ["target column 'target' has no values"]),
    ("single-class target", b"a,target\n1,x\n2,x\n3,x\n", [], ["target column 'target' has a single class ('x')"]),
    ("non-numeric in a numeric column", b"a,target\n1,0\nfoo,1\n3,0\n4,1\n5,0\n", ["data.schema={a: {type: float}}"],
     ["data column 'a' is not a number ('foo') in 1 row(s) (rows 2)"]),
    ("duplicate column names", b"a,a,target\n1,2,0\n3,4,1\n", [], ["column name 'a' twice"]),
    ("unknown source scheme", "nosuchfs://bucket/x.csv", [], ["nosuchfs://bucket/x.csv", "fsspec cannot open"]),
    ("SQL table missing", _sqlite, ["data.table=customers"], ["data.table 'customers' is not in the database", "orders"]),
    ("text folder without labels", _text_folder, [], ["is a folder without labelled texts", "one sub-folder per label"]),
    ("schema violation", b"a,target\n1,0\n2,1\n300,0\n4,1\n5,0\n", ["data.schema={a: {max: 100}}"],
     ["data column 'a' is above its max 100 in 1 row(s) (rows 3)"]),
    ("split impossible", b"a,target\n1,x\n2,x\n3,x\n4,y\n5,x\n", ["split.stratify=true"],
     ["cannot split 5 rows", "set split.stratify to false"]),
    ("repeated rows refused", b"a,target\n1,0\n1,0\n2,1\n", ["data.duplicates=error"], ["1 repeated row(s) (rows 2)"]),
]


@pytest.mark.parametrize("source,overrides,words", [b[1:] for b in BAD_DATA], ids=[b[0] for b in BAD_DATA])
def test_bad_data_is_one_clear_line_and_leaves_nothing(project, tmp_path, store, monkeypatch, capsys, source, overrides, words):
    "Each malformed input: one sentence naming the file, column or row, exit status 2, no run folder, nothing in MLflow."
    monkeypatch.chdir(tmp_path)
    if source is None: source = "nowhere.csv"
    elif isinstance(source, bytes): (tmp_path/"bad.csv").write_bytes(source); source = "bad.csv"
    elif callable(source): source = source(tmp_path/"source")
    code = main(["run", str(project/"configs/simple.yaml"), "-p", f"data.source={source}", *(a for o in overrides for a in ("-p", o)),
                 "--tracking-uri", store, "--runs-dir", str(tmp_path/"runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("trainpipe: error: ") and "\n" not in err, err
    for w in words: assert w in err, (w, err)
    assert not (tmp_path/"runs").exists() and no_runs_recorded(store)


def test_broken_yaml_config_names_the_line(tmp_path, store, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path/"bad.yaml").write_text("data:\n  source: x.csv\nmodel: [unclosed\n")
    assert main(["run", "bad.yaml", "--tracking-uri", store]) == 2
    assert capsys.readouterr().err.strip() == "trainpipe: error: config file 'bad.yaml' is not valid YAML at line 4; fix the syntax there"


def test_the_console_script_prints_no_traceback(project, store):
    proc = trainpipe("run", "-p", "model.name=xgboost", "--tracking-uri", store, process=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("trainpipe: error: unknown model.name 'xgboost'; choose one of: extra_trees, gradient_boosting, "
                                   "hist_gradient_boosting, linear_regression, logistic_regression, neural, random_forest, ridge")
    assert proc.stdout == ""


def test_failing_stage_stops_the_pipeline_and_keeps_its_notebook(project, tmp_path, store):
    # a valid name and a value of the right type, so the config check passes; only fitting finds no such class in the data
    proc = trainpipe("run", "configs/default.yaml", "-p", "model.params.class_weight={Emperor: 2}", "--json",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    result = last_json(proc.stdout)
    assert result["status"] == "FAILED" and result["model_uri"] is None
    notebook = tmp_path/"runs"/result["run_id"]/"31_train.ipynb"
    message = [l for l in proc.stderr.splitlines() if l.startswith("trainpipe: stage")]
    assert message == [f"trainpipe: stage 'train' failed: ValueError: The classes, ['Adelie', 'Chinstrap', 'Gentoo'], are not in "
                       f"class_weight; the executed notebook with the failing cell is {notebook}"]
    cells = json.loads(notebook.read_text())["cells"]
    assert any(o.get("output_type") == "error" and o["ename"] == "ValueError" for c in cells for o in c.get("outputs", []))
    assert not (tmp_path/"runs"/result["run_id"]/"40_evaluate.ipynb").exists()  # later stages did not run
    assert not (tmp_path/"runs"/result["run_id"]/"train"/"model.skops").exists()
    client = MlflowClient(store)
    run = client.get_run(result["run_id"])
    assert run.info.status == "FAILED" and run.data.tags["failed_stage"] == "train"
    assert "notebooks/31_train.ipynb" in {a.path for a in client.list_artifacts(run.info.run_id, "notebooks")}
    assert not client.search_registered_models()


@pytest.mark.parametrize("command", [["run"], ["sweep", "--grid", "model.params.n_estimators=5,10"]], ids=["run", "sweep"])
def test_a_tracking_server_that_does_not_answer_is_one_line_before_anything_runs(project, tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(project)
    with socket.socket() as taken:  # a port bound and never listened on: every connection to it is refused
        taken.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{taken.getsockname()[1]}"
        code = main([command[0], "configs/default.yaml", *command[1:], "--tracking-uri", uri, "--runs-dir", str(tmp_path/"runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"trainpipe: error: the MLflow tracking server {uri} does not answer") and "\n" not in err, err
    assert not (tmp_path/"runs").exists()

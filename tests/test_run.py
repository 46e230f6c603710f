"""`trainpipe run` end to end on the default config: real papermill kernels, a real sqlite MLflow store."""
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from trainpipe.core import EXAMPLE_TAG
from trainpipe.store import declared

from conftest import OWN_FORK_SERVER, PROJECT, last_json, mlflow_run_id, mlflow_server, shown, store_in, trainpipe

STAGE_NOTEBOOKS = ["10_data.ipynb", "20_features.ipynb", "31_train.ipynb", "40_evaluate.ipynb", "50_register.ipynb"]
NOTEBOOK_ARTIFACTS = {f"notebooks/{n}{suffix}" for n in (n.removesuffix(".ipynb") for n in STAGE_NOTEBOOKS) for suffix in (".ipynb", ".html")}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, migrated_db):
    "One run of the default pipeline, shared by the tests of this module."
    tmp = tmp_path_factory.mktemp("default")
    uri = store_in(tmp, migrated_db)
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs",
                     env=OWN_FORK_SERVER)  # the default path, as a user's run takes it; the other runs here use the session's server
    assert proc.returncode == 0, proc.stderr
    return proc, last_json(proc.stdout), uri, tmp


def test_json_line_describes_the_run(default_run):
    _, result, _, tmp = default_run
    assert result["status"] == "FINISHED" and result["error"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", result["run_id"])
    assert result["run_dir"] == str(tmp/"runs"/result["run_id"])
    assert 0.9 <= result["metrics"]["test_accuracy"] <= 1.0
    assert re.fullmatch(r"models:/penguins-species/\d+", result["model_uri"])


def test_summary_says_where_everything_is(default_run):
    proc, result, uri, _ = default_run
    out = proc.stdout
    assert f"run {result['run_id']} FINISHED" in out
    assert "test_accuracy" in out
    scripts = os.path.relpath(Path(sys.executable).parent.resolve(), PROJECT)  # the runs start in the project folder
    assert f"MLflow UI  {scripts}/mlflow ui --backend-store-uri {uri}" in out  # runnable without activating the venv
    assert f"serve      {scripts}/trainpipe serve --model {result['model_uri']} --tracking-uri {uri}" in out
    metrics = [line for line in out.splitlines() if line.startswith("  test_")]
    assert len(metrics) > 10 and len({line.rindex(" ") for line in metrics}) == 1, "the values form one column, whatever the names' widths"
    assert "10_data.ipynb" in out and "50_register.ipynb" in out
    for stage in ("data", "features", "train", "evaluate", "register"):
        assert re.search(rf"{stage}\s+done in", proc.stderr)
    assert "Traceback" not in proc.stderr


def test_run_folder_holds_notebooks_config_and_stage_outputs(default_run):
    _, result, _, _ = default_run
    run_dir = Path(result["run_dir"])
    assert sorted(p.name for p in run_dir.glob("*.ipynb")) == STAGE_NOTEBOOKS
    for name in ("data/train.parquet", "data/test.parquet", "features/preprocessor.skops", "train/model.skops",
                 "evaluate/metrics.json", "evaluate/confusion_matrix.png", "register/model.json"):
        assert (run_dir/name).is_file(), name
    assert yaml.safe_load((run_dir/"config.yaml").read_text())["model"]["params"] == {"n_estimators": 100, "random_state": 42}
    assert not list(run_dir.rglob("*.tmp")), "no half-written files"


def test_executed_notebooks_carry_injected_parameters(default_run):
    _, result, uri, _ = default_run
    for name in STAGE_NOTEBOOKS:
        text = (Path(result["run_dir"])/name).read_text()
        assert uri not in text  # the store (which may carry credentials) reaches kernels through the environment only
        nb = json.loads(text)
        injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
        assert len(injected) == 1, name
        assert f"run_dir = \"{result['run_dir']}\"" in "".join(injected[0]["source"])
        assert not any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))


def test_mlflow_run_has_params_metrics_tags_and_artifacts(default_run):
    _, result, uri, _ = default_run
    client = MlflowClient(uri)
    run = client.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "penguins"
    params = run.data.params
    assert params["data.target"] == "species" and params["model.name"] == "random_forest"
    assert params["model.params.n_estimators"] == "100" and params["split.test_size"] == "0.2"
    assert params["data.source"].endswith("data/penguins.csv")
    assert run.data.metrics["test_accuracy"] == pytest.approx(result["metrics"]["test_accuracy"])
    assert {"test_f1_macro", "test_roc_auc", "data_rows"} <= set(run.data.metrics)
    tags = run.data.tags
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", tags["git_commit"]) and tags["git_dirty"] in {"true", "false", "unknown"}
    assert tags["config"] == "default"
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "notebooks", "plots"} <= top
    assert {a.path for a in client.list_artifacts(run.info.run_id, "notebooks")} == NOTEBOOK_ARTIFACTS  # each notebook, and as a page
    assert "plots/confusion_matrix.png" in {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert params["features.tokenizer"] == "words" != "***"  # a tokenizer is not a token: only secret-looking names are masked
    assert not [k for k in params if k.startswith(("tune.", "monitor."))]  # no stage of this pipeline reads them
    assert {"pipeline.jobs", "evaluate.gate", "register.model_name", "experiment"} <= set(params)


def test_model_is_logged_in_the_run_and_registered(default_run):
    _, result, uri, _ = default_run
    client = MlflowClient(uri)
    name, version = result["model_uri"].removeprefix("models:/").split("/")
    mv = client.get_model_version(name, version)
    assert mv.run_id == result["run_id"]
    record = json.loads((Path(result["run_dir"])/"register/model.json").read_text())
    assert (record["registered_model"], str(record["version"])) == (name, version)
    logged = client.get_logged_model(record["logged_model_uri"].removeprefix("models:/"))
    assert logged.source_run_id == result["run_id"]
    assert logged.name == "model"
    assert client.get_registered_model(name).description.startswith("Predicts species (classification) from raw rows like those of")
    described, metrics = mv.description, result["metrics"]
    assert described.startswith(f"From run {result['run_id']}: test_accuracy {metrics['test_accuracy']:.4f} (95% interval "
                                f"{metrics['test_accuracy_ci_low']:.4f} to {metrics['test_accuracy_ci_high']:.4f}) on ")  # as evaluate measured
    dataset = json.loads((Path(result["run_dir"])/"data"/"dataset.json").read_text())
    assert f"Data fingerprint {dataset['digest']}." in described and "Gate passed (no criteria)." in described and "Aliased champion" in described


def test_the_report_leads_with_what_it_reports_on(default_run):
    "The HTML report: a header of the run's facts first, then the comparison, then the plots, the method folded away; no badge."
    _, result, uri, _ = default_run
    run_dir, metrics = Path(result["run_dir"]), result["metrics"]
    page = (run_dir/"evaluate"/"report.html").read_text()
    assert json.loads((run_dir/"run.json").read_text())["report"] == str(run_dir/"evaluate"/"report.html")
    assert "colab" not in page.lower()
    header = page[page.index('<header id="report-header">'):page.index("</header>")]
    labels = re.findall(r'<th scope="row">([^<]+)</th>', header)
    assert labels == ["run", "date", "experiment", "data set", "data fingerprint", "target", "model", "model params", "headline metric",
                      "gate", "alias"]
    dataset = json.loads((run_dir/"data"/"dataset.json").read_text())
    for text in (result["run_id"], "config default", "penguins", f"penguins.csv ({dataset['rows']} rows", dataset["digest"], "species (classification)",
                 "random_forest", "n_estimators=100, random_state=42", f"test_accuracy {metrics['test_accuracy']:.4f}",
                 f"95% interval {metrics['test_accuracy_ci_low']:.4f} to", "passed: no criteria", "champion, version"):
        assert text in header, text
    at = [page.index(s) for s in ('id="report-header"', "Beside the experiment", "<img", '<details id="report-method"')]
    assert at == sorted(at)  # the header, the comparison, the plots, then the method
    assert "overflow-x: auto" in page  # a wide table scrolls in its box
    assert "reports/report.html" in {a.path for a in MlflowClient(uri).list_artifacts(result["mlflow_run_id"], "reports")}


def test_every_executed_notebook_is_also_a_page(default_run):
    "Beside each executed notebook, its HTML: the title and the run section's code and outputs, no library code, Colab cells or plumbing."
    _, result, _, _ = default_run
    run_dir = Path(result["run_dir"])
    pages = sorted(p.name for p in run_dir.glob("*.html") if not p.name.endswith(".report.html"))
    assert pages == [n.replace(".ipynb", ".html") for n in STAGE_NOTEBOOKS]
    assert [p.name for p in run_dir.glob("*.report.html")] == ["40_evaluate.report.html"]  # the report's body, cached with its stage
    page = (run_dir/"31_train.html").read_text()
    assert "run_train" in page and "RandomForestClassifier" in page  # the run section's code (split into spans) and its table
    assert "def train_model" not in page and "Train" in page  # the library code stays in the notebook; the title is shown
    assert "colab" not in page.lower() and f"run_dir = &quot;{run_dir}" not in page  # no Colab cells, no injected parameters


def test_evaluate_stage_metrics_interval_plots_and_per_class_table(default_run):
    "The evaluate stage of the default run: every classification metric, the plots logged and shown, the per-class table."
    _, result, uri, _ = default_run
    client = MlflowClient(uri)
    run = client.get_run(result["mlflow_run_id"])
    plots = {a.path for a in client.list_artifacts(result["mlflow_run_id"], "plots")}
    metrics, run_dir = run.data.metrics, Path(result["run_dir"])
    assert {"test_accuracy", "test_balanced_accuracy", "test_f1_macro", "test_precision_macro", "test_recall_macro",
            "test_roc_auc", "test_log_loss", "test_f1_weighted", "test_precision_weighted", "test_recall_weighted",
            "test_pr_auc", "test_brier", "test_accuracy_ci_low", "test_accuracy_ci_high", "train_accuracy", "fit_gap"} <= set(metrics)
    assert metrics["test_accuracy_ci_low"] <= metrics["test_accuracy"] <= metrics["test_accuracy_ci_high"] <= 1
    assert 0 <= metrics["test_brier"] < 0.05 and metrics["test_pr_auc"] > 0.95
    assert metrics["fit_gap"] == metrics["train_accuracy"] - metrics["test_accuracy"]
    assert run.data.tags["overfitting"] == "false"  # a gap of at most 0.1, the default threshold
    assert {f"plots/{n}.png" for n in ("confusion_matrix", "roc_pr_curves", "calibration", "permutation_importance", "learning_curve")} <= plots
    curve = json.loads((run_dir/"evaluate"/"learning_curve.json").read_text())
    assert curve["rows"][-1] == metrics["data_train_rows"] and curve["test_accuracy"][-1] == metrics["test_accuracy"]
    per_class = json.loads((run_dir/"evaluate"/"per_class.json").read_text())
    assert set(per_class) == {"Adelie", "Chinstrap", "Gentoo"}
    assert all(set(row) == {"precision", "recall", "f1-score", "support"} for row in per_class.values())
    assert sum(row["support"] for row in per_class.values()) == metrics["data_test_rows"]
    images, printed = shown(run_dir/"40_evaluate.ipynb")
    assert images >= 4 and "overfitting" not in printed


def test_registered_model_predicts_from_raw_rows(default_run, project, monkeypatch):
    _, result, uri, _ = default_run
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    model = mlflow.pyfunc.load_model(result["model_uri"])
    raw = pd.read_csv(project/"data/penguins.csv")  # strings, missing values and all
    answer = model.predict(raw.drop(columns=["species"]))
    pred = answer["label"]
    assert set(pred) <= set(raw.species)
    assert (pred == raw.species).mean() > 0.95
    probabilities = answer[[f"probability_{s}" for s in sorted(raw.species.unique())]]
    assert (probabilities.sum(axis=1).round(6) == 1).all()
    inputs = {c.name for c in model.metadata.get_input_schema().inputs}
    assert inputs == set(raw.columns) - {"species"}


def test_the_run_records_which_data_it_trained_on(default_run):
    "The data stage's fingerprint is the MLflow run's input dataset; its schema and quality report are in the run folder."
    _, result, uri, _ = default_run
    data = Path(result["run_dir"])/"data"
    dataset = json.loads((data/"dataset.json").read_text())
    logged = MlflowClient(uri).get_run(result["run_id"]).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in logged] == [("penguins", dataset["digest"])]
    assert json.loads(logged[0].dataset.profile) == {"rows": 344}
    schema = json.loads((data/"schema.json").read_text())
    assert schema["species"]["type"] == "string" and schema["bill_length_mm"] == {"type": "float", "missing": 2, "distinct": 164, "min": 32.1, "max": 59.6}
    assert json.loads((data/"quality.json").read_text()) == [] and (data/"quality.png").stat().st_size > 1000


def test_the_preprocessing_is_fitted_on_training_rows_only(default_run):
    "What the fitted scaler and encoder learned equals a fit on the training rows, and differs from a fit that saw test rows."
    from trainpipe.features import make_preprocessor, split_columns
    from trainpipe.store import load_object
    _, result, _, _ = default_run
    run = Path(result["run_dir"])
    fitted = load_object(run/"features"/"preprocessor.skops")
    train, test = pd.read_parquet(run/"data"/"train.parquet"), pd.read_parquet(run/"data"/"test.parquet")
    X_train, X_all = train.drop(columns=["species"]), pd.concat([train, test]).drop(columns=["species"])
    def learned(pre): return pre.named_transformers_["numeric"][-1].mean_
    on_train = make_preprocessor(split_columns(X_train)).fit(X_train)
    assert learned(fitted).tolist() == pytest.approx(learned(on_train).tolist())
    assert learned(fitted).tolist() != pytest.approx(learned(make_preprocessor(split_columns(X_all)).fit(X_all)).tolist())
    pd.testing.assert_frame_equal(pd.read_parquet(run/"features"/"X_test.parquet"), on_train.transform(test.drop(columns=["species"])),
                                  check_dtype=False)


def test_stages_run_as_the_graph_allows(default_run):
    "evaluate and register read only what train and the stages before it made: both start when train ends, side by side."
    _, result, _, _ = default_run
    timeline = json.loads((Path(result["run_dir"])/"run.json").read_text())["stages"]
    assert list(timeline) == ["data", "features", "train", "evaluate", "register"]
    assert all(t["how"] == "run" and t["started"] < t["ended"] for t in timeline.values())
    for a, b in [("data", "features"), ("features", "train"), ("train", "evaluate"), ("train", "register")]:
        assert timeline[a]["ended"] <= timeline[b]["started"]  # a stage starts after the ones it reads
    evaluate, register = timeline["evaluate"], timeline["register"]
    assert max(evaluate["started"], register["started"]) < min(evaluate["ended"], register["ended"])  # the two overlap


def test_mlflow_ui_shows_the_run(default_run):
    "The command the summary prints serves the run: a real `mlflow ui` on 127.0.0.1, read through its REST API."
    _, result, uri, tmp = default_run
    with mlflow_server("ui", "--backend-store-uri", uri, cwd=tmp) as base:
        run = json.load(urllib.request.urlopen(f"{base}/api/2.0/mlflow/runs/get?run_id={result['run_id']}"))["run"]
        assert run["info"]["status"] == "FINISHED"
        assert {m["key"]: m["value"] for m in run["data"]["metrics"]}["test_accuracy"] == pytest.approx(result["metrics"]["test_accuracy"])
        listing = json.load(urllib.request.urlopen(f"{base}/api/2.0/mlflow/artifacts/list?run_id={result['run_id']}&path=notebooks"))
        assert {f["path"] for f in listing["files"]} == NOTEBOOK_ARTIFACTS
        assert b"<html" in urllib.request.urlopen(base).read()[:200].lower()


def test_a_rerun_with_nothing_changed_reuses_every_stage_and_still_records_a_run(default_run):
    _, first, uri, tmp = default_run
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert proc.returncode == 0, proc.stderr
    again = last_json(proc.stdout)
    assert "(5 of 5 stages from the cache)" in proc.stdout
    assert proc.stderr.count("cached") == 5
    assert again["run_id"] != first["run_id"]
    assert again["metrics"] == first["metrics"] and again["model_uri"] == first["model_uri"]
    run_dir = Path(again["run_dir"])
    assert sorted(p.name for p in run_dir.glob("*.ipynb")) == STAGE_NOTEBOOKS  # the record is complete
    assert (run_dir/"train"/"model.skops").read_bytes() == (Path(first["run_dir"])/"train"/"model.skops").read_bytes()
    assert again["mlflow_run_id"] is None and "recorded in the background" in proc.stdout  # the command did not wait for MLflow
    client, recorded = MlflowClient(uri), mlflow_run_id(again)
    run = client.get_run(recorded)
    assert run.info.status == "FINISHED" and run.data.tags["trainpipe_run_id"] == again["run_id"]
    assert run.data.tags["cached"] == "true" and run.data.tags["cached_stages"] == "data,features,train,evaluate,register"
    assert run.data.metrics["test_accuracy"] == first["metrics"]["test_accuracy"]
    assert {a.path for a in client.list_artifacts(recorded, "notebooks")} == NOTEBOOK_ARTIFACTS
    assert "reports/report.html" in {a.path for a in client.list_artifacts(recorded, "reports")}
    page = (run_dir/"evaluate"/"report.html").read_text()
    assert again["run_id"] in page and first["run_id"] not in page  # the report of this run, not the cached one
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("tracking")) == []  # nothing left to record


def test_status_says_what_is_stale_and_why(default_run):
    _, _, uri, tmp = default_run
    status = trainpipe("status", "configs/default.yaml", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert status.returncode == 0, status.stderr
    assert [l.split(None, 1)[1] for l in status.stdout.splitlines()] == ["up to date"] * 5
    changed = trainpipe("status", "configs/default.yaml", "-p", "model.params.n_estimators=50", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert changed.stdout.splitlines() == ["data       up to date", "features   up to date", "train      stale: params changed",
                                           "evaluate   stale: upstream stale", "register   stale: upstream stale"]


def test_editing_the_data_file_makes_the_data_stage_stale(project, tmp_path, store):
    data = tmp_path/"penguins.csv"
    data.write_text((project/"data/penguins.csv").read_text())
    args = ["configs/default.yaml", "-p", f"data.source={data}", "-p", "pipeline.stages=[data]", "--tracking-uri", store, "--runs-dir", tmp_path/"runs"]
    assert trainpipe("run", *args).returncode == 0
    assert trainpipe("status", *args).stdout.split() == ["data", "up", "to", "date"]
    data.write_text(data.read_text().replace("Torgersen,39.1", "Torgersen,39.2", 1))
    assert trainpipe("status", *args).stdout.strip() == "data       stale: data changed"
    forced = trainpipe("run", *args, "--force")
    assert forced.returncode == 0 and "cached" not in forced.stderr


def test_part_of_a_pipeline_runs_with_from_to_and_stages(default_run, tmp_path):
    _, first, uri, tmp = default_run
    part = trainpipe("run", "configs/default.yaml", "--to", "features", "--force", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert part.returncode == 0, part.stderr
    assert [l.split()[:2] for l in part.stderr.splitlines() if l.startswith("  ")] == [["data", "done"], ["features", "done"]]
    assert sorted(p.name for p in Path(last_json(part.stdout)["run_dir"]).glob("*.ipynb")) == STAGE_NOTEBOOKS[:2]
    tail = trainpipe("run", "configs/default.yaml", "--stages", "evaluate", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert tail.returncode == 0, tail.stderr  # data, features and train come from the cache
    assert last_json(tail.stdout)["metrics"]["test_accuracy"] == first["metrics"]["test_accuracy"]
    page = (Path(last_json(tail.stdout)["run_dir"])/"evaluate"/"report.html").read_text()
    assert '<th scope="row">register</th><td>stage not run</td>' in page
    refused = trainpipe("run", "configs/default.yaml", "--from", "train", "--tracking-uri", uri, "--runs-dir", tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("trainpipe: error: stage 'data' must run before train, and its outputs are not cached; "
                                      "include it (--from data) or run the whole pipeline once")


def test_a_core_install_logs_no_progress_warning_and_a_partial_run_is_listed_apart(default_run, tmp_path):
    """Without ipywidgets, tqdm.auto (which MLflow imports) warns `IProgress not found` in a Jupyter kernel: neither the
    executed notebook nor the stage's log shows it, in a kernel started afresh that imports the stage's libraries first.
    The run stops before register, so `trainpipe runs` lists it as partial, after the ranked runs, with no rank."""
    _, first, uri, tmp = default_run
    core = tmp_path/"core"
    core.mkdir()
    (core/"ipywidgets.py").write_text("raise ImportError('a core install has no ipywidgets')\n")
    proc = trainpipe("run", "configs/default.yaml", "--stages", "evaluate", "--force", "--json", "--tracking-uri", uri,
                     "--runs-dir", tmp/"runs", env={"PYTHONPATH": core, "TRAINPIPE_FORK_KERNELS": "0"})
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    run_dir = Path(result["run_dir"])
    assert (run_dir/"40_evaluate.ipynb").is_file()
    for written in [*run_dir.glob("*.ipynb"), *run_dir.glob("*.log")]:
        assert "IProgress" not in written.read_text() and "TqdmWarning" not in written.read_text(), written.name
    board = trainpipe("runs", "--tracking-uri", uri)  # no --experiment: each experiment under its own heading
    assert board.returncode == 0, board.stderr
    lines = board.stdout.splitlines()
    assert lines[0].startswith("experiment penguins: ") and lines[0].endswith("ranked by test_accuracy")
    rows = {line.split()[1]: line for line in lines[2:] if line.strip() and not line.startswith("experiment")}
    assert rows[result["mlflow_run_id"]].startswith("-") and "PARTIAL (to evaluate)" in rows[result["mlflow_run_id"]]
    assert rows[first["mlflow_run_id"]].split()[0].isdigit() and " FINISHED " in rows[first["mlflow_run_id"]]
    ranks = [line.split()[0] for line in lines[2:] if line.strip() and not line.startswith("experiment")]
    assert ranks == sorted(ranks, key=lambda r: r == "-"), "no partial run among the ranked ones"


def _papermill_stages(project: Path, cwd: Path, run_dir: Path, out: Path, guard: Path) -> list:
    "Run the default stages one by one with the papermill command line from `cwd`, given only a run folder, as a scheduler does."
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"PYTHONPATH": str(guard)}
    failed = []
    for name in STAGE_NOTEBOOKS:
        proc = subprocess.run([str(Path(sys.executable).parent/"papermill"), os.path.relpath(project/"nbs"/name, cwd), str(out/name),
                               "-p", "run_dir", str(run_dir)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode:
            failed.append((name, proc.stderr[-2000:]))
            break
    return failed


def test_every_stage_runs_alone_with_plain_papermill_from_any_folder(default_run, project, tmp_path):
    "The scheduler's recipe: each stage notebook run by `papermill` from the project root and from nbs/ with only `-p run_dir`; the same outputs as `trainpipe run`, no example run, neither torch nor transformers imported."
    _, result, _, _ = default_run
    guard = tmp_path/"guard"  # importing torch or transformers in these kernels fails the stage
    guard.mkdir()
    for module in ("torch", "transformers"): (guard/f"{module}.py").write_text(f"raise RuntimeError('a default stage imported {module}')\n")
    (guard/"ipywidgets.py").write_text("raise ImportError('a core install has no ipywidgets')\n")  # as `pip install -e .` leaves it
    runs = {folder: tmp_path/f"from-{folder or 'root'}" for folder in ("", "nbs")}
    for run in runs.values(): run.mkdir()
    with ThreadPoolExecutor(2) as pool:
        failed = dict(zip(runs, pool.map(lambda f: _papermill_stages(project, project/f, runs[f]/"run", runs[f], guard), runs)))
    assert failed == {"": [], "nbs": []}
    ours = Path(result["run_dir"])
    for run in runs.values():
        for part in ("data/train.parquet", "data/test.parquet", "features/X_test.parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(run/"run"/part), pd.read_parquet(ours/part))
        assert json.loads((run/"run"/"evaluate"/"metrics.json").read_text()) == json.loads((ours/"evaluate"/"metrics.json").read_text())
        assert Path(declared(run/"run"/"register")["model_uri"]).is_dir()  # no store given: saved in the run folder
        for name in STAGE_NOTEBOOKS:
            cells = json.loads((run/name).read_text())["cells"]
            examples = [c for c in cells if EXAMPLE_TAG in c["metadata"].get("tags", [])]
            assert examples and all(not c["outputs"] and c["execution_count"] is None for c in examples), name
            printed = json.dumps([c.get("outputs", []) for c in cells])
            assert "IProgress" not in printed and "TqdmWarning" not in printed, f"{name} shows tqdm's ipywidgets warning"


def test_a_run_in_the_project_leaves_nothing_for_git_to_show(tmp_path):
    "A run with the defaults writes runs/, mlflow.db, its lock and MLflow's mlruns/ into the project: .gitignore covers each."
    clone = tmp_path/"project"  # the project as it stands, committed in a repository of its own
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (PROJECT/name).is_file():
            (clone/name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT/name, clone/name)
    def git(*args) -> str:
        return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=clone,
                              capture_output=True, text=True, check=True).stdout
    git("init", "-q"); git("add", "-A"); git("commit", "-qm", "the project")
    proc = trainpipe("run", "configs/default.yaml", "-p", "pipeline.stages=[data]", cwd=clone, env=OWN_FORK_SERVER)
    assert proc.returncode == 0, proc.stderr
    assert (clone/"mlflow.db.lock").is_file() and (clone/"mlflow.db").is_file() and (clone/"runs").is_dir()
    assert git("status", "--porcelain") == ""

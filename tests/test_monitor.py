"""`trainpipe monitor`: the training reference registered with the model, drift found (exit 4) or not (exit 0), recorded in
MLflow; bad input is one sentence and exit 2."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import PROJECT, last_json, store_in, trainpipe

MODEL = "models:/penguins-species@champion"


@pytest.fixture(scope="module")
def watched(tmp_path_factory, migrated_db):
    "A registered default model (no evaluate stage) in a store of its own, and the shipped script's two copies of the data."
    tmp = tmp_path_factory.mktemp("monitor")
    uri = store_in(tmp, migrated_db)
    proc = trainpipe("run", "configs/default.yaml", "-p", "pipeline.stages=[data, features, train, register]", "-p", "register.smoke_test=false",
                     "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs")
    assert proc.returncode == 0, proc.stderr
    made = subprocess.run([sys.executable, str(PROJECT/"data"/"make_drifted.py"), str(tmp/"new")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return uri, tmp, last_json(proc.stdout)


def monitoring_runs(uri: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("monitoring")
    return client.search_runs([experiment.experiment_id]) if experiment else []


def test_the_reference_travels_with_the_registered_model(watched, tmp_path):
    uri, _, result = watched
    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("penguins-species", "champion")
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    files = {a.path for a in client.list_logged_model_artifacts(logged.model_id, "reference")}
    assert files == {"reference/reference.json", "reference/sample.parquet"}
    reference = json.loads((Path(result["run_dir"])/"register"/"reference"/"reference.json").read_text())
    assert reference["target"] == "species" and reference["rows"] == 275 and set(reference["prediction"]["categories"]) == {"Adelie", "Gentoo", "Chinstrap"}
    assert reference["columns"]["island"]["kind"] == "categorical" and reference["columns"]["body_mass_g"]["kind"] == "numeric"


def test_a_resample_is_no_drift_and_a_shifted_colony_is(watched):
    uri, tmp, _ = watched
    calm = trainpipe("monitor", "--model", MODEL, "--data", tmp/"new"/"penguins_resample.csv", "--out", tmp/"calm", "--json",
                     "--tracking-uri", uri)
    assert calm.returncode == 0, calm.stderr
    report = last_json(calm.stdout)
    assert report["drift"] is False and report["drifted_columns"] == [] and report["rows"] == 344
    assert "no drift: 0 of 7 columns drifted" in calm.stdout
    assert json.loads((tmp/"calm"/"drift.json").read_text())["drift"] is False

    storm = trainpipe("monitor", "--model", MODEL, "--data", tmp/"new"/"penguins_drifted.csv", "--out", tmp/"storm",
                      "--tracking-uri", uri)
    assert storm.returncode == 4, storm.stderr  # a scheduler branches on it: retrain
    assert "DRIFT:" in storm.stdout and "Traceback" not in storm.stderr
    found = json.loads((tmp/"storm"/"drift.json").read_text())
    assert {"flipper_length_mm", "body_mass_g", "bill_length_mm"} <= set(found["drifted_columns"]) and found["prediction"]["drifted"]
    assert "bill_depth_mm" not in found["drifted_columns"] and "sex" not in found["drifted_columns"]  # untouched by the shift
    page = (tmp/"storm"/"report.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 8  # a panel per column and the answers

    runs = {r.data.tags["drift"]: r for r in monitoring_runs(uri)}
    assert set(runs) == {"true", "false"}
    drifted = runs["true"]
    assert drifted.info.status == "FINISHED" and drifted.data.params["model_uri"] == MODEL and drifted.data.tags["model_version"] == "1"
    assert drifted.data.metrics["drift"] == 1 and drifted.data.metrics["psi_flipper_length_mm"] > 0.2
    assert {a.path for a in MlflowClient(uri).list_artifacts(drifted.info.run_id, "monitor")} == {"monitor/drift.json", "monitor/report.html"}


RESAMPLE = "penguins_resample.csv"  # good rows: the cases below that are not about the file use them
BAD = [  # (id, the --data file: its content, a shipped copy's name, or None for none; more arguments; words of the one sentence)
    ("missing file", None, [], ["does not exist"]),
    ("empty file", "", [], ["is empty"]),
    ("header only", "island,bill_length_mm\n", [], ["has no rows"]),
    ("missing columns", "island,bill_length_mm\nDream,40\n", [], ["lacks the column(s) bill_depth_mm"]),
    ("unknown column", "+colour", [], ["has column(s) colour the model never saw"]),
    ("unknown model", RESAMPLE, ["--model", "models:/no-such-model@champion"], ["cannot find model 'models:/no-such-model@champion'"]),
    ("bad threshold", RESAMPLE, ["-p", "monitor.alpha=2"], ["'monitor.alpha' must be above 0 and at most 1"]),
]


@pytest.mark.parametrize("data,more,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_sentence_and_exit_2(watched, tmp_path, data, more, words):
    uri, tmp, _ = watched
    path = tmp_path/"new.csv"
    if data == RESAMPLE: path = tmp/"new"/RESAMPLE
    elif data == "+colour":  # the good rows with one column more
        path.write_text((tmp/"new"/RESAMPLE).read_text().replace("\n", ",red\n").replace("year,red", "year,colour", 1))
    elif data is not None: path.write_text(data)
    before = len(monitoring_runs(uri))
    proc = trainpipe("monitor", "--model", MODEL, "--data", path, "--out", tmp_path/"out", "--tracking-uri", uri, *more)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and err.startswith("trainpipe: error: ") and "\n" not in err, err
    for w in words: assert w in err, (w, err)
    assert not (tmp_path/"out").exists() and len(monitoring_runs(uri)) == before  # nothing written, nothing recorded


def test_serve_logs_what_it_scored_and_monitor_reads_the_folder(watched, tmp_path):
    "trainpipe serve --log-requests: the scored rows in rotated Parquet files, written in full by a graceful stop, then monitored."
    import os
    import signal

    import pandas as pd

    from conftest import TRAINPIPE, call, server
    uri, tmp, _ = watched
    logged = tmp_path/"requests"
    rows = pd.read_csv(tmp/"new"/"penguins_resample.csv").drop(columns=["species"]).dropna()
    with server([str(TRAINPIPE), "serve", "--model", MODEL, "--log-requests", str(logged), "--log-rows", "100"], {"MLFLOW_TRACKING_URI": uri}) as (url, proc):
        for start in range(0, len(rows), 50):
            part = rows.iloc[start:start + 50]
            status, _, _ = call(f"{url}/invocations", json.dumps({"dataframe_split": part.to_dict(orient="split", index=False)}))
            assert status == 200
        refused = call(f"{url}/invocations", json.dumps({"dataframe_split": {"columns": ["island"], "data": [["Dream"]]}}))[0]
        assert 400 <= refused < 500  # a client's mistake: the model never sees it, so it is not logged
        os.killpg(proc.pid, signal.SIGTERM)  # a graceful stop writes the rows still waiting
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM), proc.log()  # uvicorn re-raises the signal once it has drained
    files = sorted(logged.glob("*.parquet"))
    assert [len(pd.read_parquet(f)) for f in files] == [100] * (len(rows) // 100) + [len(rows) % 100]
    assert not list(logged.glob(".*")), "no temporary file left behind"
    back = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert list(back.columns) == list(rows.columns) and back["island"].tolist() == rows["island"].tolist()
    checked = trainpipe("monitor", "--model", MODEL, "--data", logged, "--out", tmp_path/"out", "--tracking-uri", uri)
    assert checked.returncode == 0, checked.stderr
    assert f"; {len(rows):,} rows" in checked.stdout.splitlines()[-2]

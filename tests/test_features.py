"""The features stage on text, datetime and image columns, end to end: real kernels, a real sqlite store, served models."""
import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from conftest import TRAINPIPE, call, last_json, server, store_in, trainpipe

GOOD = ["works perfectly and arrived quickly", "excellent quality, would buy this again", "great value, my family loves it",
        "sturdy, well made and easy to clean"]
BAD = ["broke after two days of light use", "terrible quality and the seller never replied", "arrived damaged, a waste of money",
       "cheap plastic that cracked in the box"]


def orders(n: int = 240, seed: int = 0) -> pd.DataFrame:
    "Orders whose return depends on the review's words, with an amount, a channel and a timestamp beside them."
    rng = np.random.default_rng(seed)
    returned = rng.integers(0, 2, n).astype(bool)
    review = [str(rng.choice(BAD if r else GOOD)) for r in returned]
    placed = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    return pd.DataFrame({"placed": placed.strftime("%Y-%m-%d %H:%M:%S"), "amount": rng.gamma(2, 30, n).round(2),
                         "channel": rng.choice(["web", "shop", "phone"], n), "review": review,
                         "returned": np.where(returned, "yes", "no")})


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, migrated_db):
    tmp = tmp_path_factory.mktemp("text")
    orders().to_csv(tmp/"orders.csv", index=False)
    uri = store_in(tmp, migrated_db)
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs",
                     "-p", f"data.source={tmp/'orders.csv'}", "-p", "data.target=returned", "-p", "features.ngrams=2",
                     "-p", "features.datetime_parts=[month, day_of_week, hour]", "-p", "model.name=logistic_regression",
                     "-p", "model.params={}", "-p", "register.model_name=returns")
    assert proc.returncode == 0, proc.stderr
    return last_json(proc.stdout), uri, tmp


def test_text_and_datetime_columns_become_features(text_run):
    result, _, _ = text_run
    run = Path(result["run_dir"])
    X = pd.read_parquet(run/"features"/"X_train.parquet")
    assert ["placed_month", "placed_day_of_week", "placed_hour"] == [c for c in X.columns if c.startswith("placed_")]
    assert {"review__broke", "review__excellent", "review__waste of"} <= set(X.columns)  # words and word pairs
    assert X.filter(like="review__").dtypes.eq("float32").all()
    assert result["metrics"]["test_accuracy"] == 1.0  # the review's words decide the label


def test_the_registered_model_predicts_from_raw_strings_in_a_fresh_process(text_run, tmp_path):
    "A served model takes the raw row (timestamp, review text), and loads with trainpipe's transformers from inside itself."
    result, uri, _ = text_run
    source = MlflowClient(uri, registry_uri=uri).get_model_version_download_uri("returns", result["model_uri"].rsplit("/", 1)[1])
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=uri, dst_path=str(tmp_path)))
    assert (local/"code"/"trainpipe"/"features.py").is_file()
    rows = [{"placed": "2025-03-02 10:00:00", "amount": 20.0, "channel": "web", "review": "it broke, a waste of money"},
            {"placed": "2025-03-02 11:00:00", "amount": 80.0, "channel": "shop", "review": "excellent, works perfectly"}]
    script = ("import json, sys, mlflow, pandas as pd; m = mlflow.pyfunc.load_model(sys.argv[1]); "
              "rows = pd.DataFrame(json.loads(sys.argv[2])).assign(placed=lambda d: pd.to_datetime(d.placed)); "
              "print(json.dumps(list(m.predict(rows)['label'])))")
    # trainpipe must come from the model's own code folder: not the working copy, not the installed package
    env = {"PYTHONPATH": "", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
                           + script, str(local), json.dumps(rows)], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["yes", "no"]


def test_trainpipe_serve_answers_from_raw_text_and_timestamps(text_run):
    "The text model served over REST: the timestamp as ISO text and the review as words, checked, and answered as MLflow's server does."
    result, uri, _ = text_run
    rows = [{"placed": "2025-03-02T10:00:00", "amount": 20.0, "channel": "web", "review": "it broke, a waste of money"},
            {"placed": "2025-03-02T11:00:00", "amount": 80, "channel": "shop", "review": "excellent, works perfectly"}]
    body = json.dumps({"dataframe_records": rows})
    with server([str(TRAINPIPE), "serve", "--model", "models:/returns@champion"], {"MLFLOW_TRACKING_URI": uri}) as (url, _):
        status, _, answer = call(f"{url}/predict", json.dumps(rows))
        assert status == 200 and answer["predictions"] == ["yes", "no"], answer
        ours = call(f"{url}/invocations", body)
        status, _, answer = call(f"{url}/invocations", json.dumps({"dataframe_records": [{**rows[0], "review": ["not", "text"]}]}))
        assert status == 400 and "column 'review' takes text" in answer["message"]
    with server([str(Path(sys.executable).parent/"mlflow"), "models", "serve", "-m", "models:/returns@champion", "--env-manager", "local"],
                {"MLFLOW_TRACKING_URI": uri}, ready="/ping") as (mlflow_url, _):
        theirs = call(f"{mlflow_url}/invocations", body)
    assert ours[0] == theirs[0] == 200 and ours[2] == theirs[2]  # the same answer as MLflow's own server


def test_sequence_features_are_token_ids_with_a_training_vocabulary(text_run):
    from trainpipe.features import UNKNOWN
    _, uri, tmp = text_run
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs",
                     "-p", f"data.source={tmp/'orders.csv'}", "-p", "data.target=returned", "-p", "features.text=sequence",
                     "-p", "features.max_len=8", "-p", "pipeline.stages=[data, features]")
    assert proc.returncode == 0, proc.stderr
    X = pd.read_parquet(Path(last_json(proc.stdout)["run_dir"])/"features"/"X_test.parquet")
    ids = X[[f"review_tok_{i}" for i in range(8)]]
    assert (ids.dtypes == "int32").all() and ids.to_numpy().max() < 60 and (ids.to_numpy() != UNKNOWN).any()


def test_digits_pixels_are_normalised_as_images(tmp_path, store):
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", store, "--runs-dir", tmp_path/"runs",
                     "-p", "data.source=sklearn:digits", "-p", "data.target=target", "-p", "features.image_shape=[8, 8]",
                     "-p", "pipeline.stages=[data, features]")
    assert proc.returncode == 0, proc.stderr
    run = Path(last_json(proc.stdout)["run_dir"])
    X = pd.read_parquet(run/"features"/"X_train.parquet")
    assert X.shape[1] == 64 and (X.dtypes == "float32").all()
    assert abs(float(X.to_numpy().mean())) < 1e-4 and float(X.to_numpy().std()) == pytest.approx(1.0, abs=1e-4)
    bad = trainpipe("run", "configs/default.yaml", "--tracking-uri", store, "--runs-dir", tmp_path/"runs",
                    "-p", "data.source=sklearn:digits", "-p", "data.target=target", "-p", "features.image_shape=[28, 28]")
    assert bad.returncode == 2 and "features.image_shape [28, 28] needs 784 pixel columns, but the table has 64" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_hugging_face_source_in_a_config_file_reads_through_its_loaders(tmp_path, store):
    "`hf:data/penguins.csv` in a config is relative to the project, read by Hugging Face's csv loader, offline."
    config = tmp_path/"hf.yaml"
    config.write_text("data: {source: 'hf:data/penguins.csv', target: species}\npipeline: {stages: [data]}\n")
    proc = trainpipe("run", config, "--json", "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((Path(last_json(proc.stdout)["run_dir"])/"data"/"summary.json").read_text())
    assert summary["source"] == f"hf:{Path(__file__).resolve().parent.parent/'data'/'penguins.csv'}"
    bad = trainpipe("run", config, "--tracking-uri", store, "--runs-dir", tmp_path/"runs", "-p", "data.hf_split=test")
    assert bad.returncode == 2 and "data.hf_split 'test' is not a split of" in bad.stderr and "Traceback" not in bad.stderr

"""The text and image pipelines on CPU: three sentiment models side by side, and the digits CNN; each registers a model
that predicts from raw inputs (review strings, pixel rows)."""
import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from conftest import last_json, store_in, trainpipe

TINY = {  # settings that keep each network to seconds here; the configs themselves train longer
    "text": [],
    "text_cnn": ["-p", "model.params.epochs=3"],
    "text_transformer": ["-p", "model.params.epochs=1", "-p", "features.max_len=24", "-p", "model.params.batch_size=64",
                         "-p", "model.params.lr=0.0002"],
}


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, migrated_db):
    "The three text configs run one after another into one store: the data stage is computed once and reused."
    tmp = tmp_path_factory.mktemp("reviews")
    store, results = store_in(tmp, migrated_db), {}
    for config, extra in TINY.items():
        proc = trainpipe("run", f"configs/{config}.yaml", *extra, "--json", "--tracking-uri", store, "--runs-dir", tmp/"runs",
                         env={"HF_HUB_OFFLINE": "1"})
        assert proc.returncode == 0, proc.stderr
        results[config] = last_json(proc.stdout)
    return store, results


def test_each_text_model_learns_the_reviews_and_the_last_compares_all_three(reviews):
    store, results = reviews
    for config, result in results.items():
        assert result["metrics"]["test_accuracy"] >= 0.75, (config, result["metrics"])
    for config in ("text_cnn", "text_transformer"):  # the same data stage: read and split once, then reused
        assert json.loads((Path(results[config]["run_dir"])/"run.json").read_text())["stages"]["data"]["how"] == "cached"
    evaluate = Path(results["text_transformer"]["run_dir"])/"40_evaluate.ipynb"
    cells = json.loads(evaluate.read_text())["cells"]
    shown = next(json.dumps(c["outputs"]) for c in cells if "other runs" in json.dumps(c.get("outputs", [])))  # the comparison
    for config in ("this run", "text_cnn", "text"):
        assert config in shown, config
    assert (evaluate.parent/"evaluate"/"comparison.png").stat().st_size > 1000


def test_registered_text_models_take_review_strings(reviews, monkeypatch):
    store, results = reviews
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    reviews_in = pd.DataFrame({"text": ["The motor stopped working and the lid is awful. A waste of money.",
                                        "Best kettle I have owned. The handle is superb. Recommended."]})
    for config, result in results.items():
        answer = mlflow.pyfunc.load_model(result["model_uri"]).predict(reviews_in)
        assert list(answer["label"]) == ["negative", "positive"], config
        assert answer.loc[0, "probability_negative"] > 0.5 and answer.loc[1, "probability_positive"] > 0.5, config


def test_digits_cnn_shows_augmentation_and_mistakes_and_serves_pixels(tmp_path, store, monkeypatch):
    proc = trainpipe("run", "configs/digits.yaml", "-p", "model.params.epochs=4", "--json", "--tracking-uri", store,
                     "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    run = Path(result["run_dir"])
    assert result["metrics"]["test_accuracy"] > 0.8
    for figure in ("train/augmented_samples.png", "train/learning_curve.png", "evaluate/misclassified.png"):
        assert (run/figure).stat().st_size > 1000, figure
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    test = pd.read_parquet(run/"data"/"test.parquet")
    pixels = test.drop(columns=["target"])  # raw 0-16 pixel rows, as a caller would send them
    answer = mlflow.pyfunc.load_model(result["model_uri"]).predict(pixels)
    assert (answer["label"] == test.target.to_numpy()).mean() > 0.8
    assert list(answer.columns) == ["label", *[f"probability_{d}" for d in range(10)]]

"""The promotion gate, champion and challenger aliases, the HTML report, and `trainpipe runs`, on a real MLflow store."""
import json
from pathlib import Path

from mlflow import MlflowClient

from conftest import last_json, trainpipe

GATE = 'evaluate.gate={test_accuracy: ">= 0.9"}'
WEAK = "model.params={n_estimators: 1, max_depth: 1, random_state: 0}"  # one stump: it cannot tell three species apart


def run(store, tmp_path, *params):
    return trainpipe("run", "configs/default.yaml", "-p", GATE, *[a for p in params for a in ("-p", p)], "--json",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")


def test_the_gate_stops_a_weak_model_and_a_better_one_becomes_champion(tmp_path, store):
    client = MlflowClient(store)
    weak = run(store, tmp_path, WEAK)
    assert weak.returncode == 3, weak.stderr  # not promoted: neither success (0), a failed stage (1) nor bad input (2)
    assert "the model was not registered: test_accuracy is" in weak.stderr and "the gate asks for >= 0.9" in weak.stderr
    assert "Traceback" not in weak.stderr
    result = last_json(weak.stdout)
    assert result["status"] == "FINISHED" and result["model_uri"] is None and result["not_promoted"]
    tags = client.get_run(result["mlflow_run_id"]).data.tags
    assert tags["gate"] == "failed" and tags["gate_failed"].startswith("test_accuracy is")
    assert not client.search_registered_models()  # nothing registered

    strong = run(store, tmp_path)
    assert strong.returncode == 0, strong.stderr
    first = last_json(strong.stdout)
    version = client.get_model_version_by_alias("penguins-species", "champion")
    assert first["model_uri"] == f"models:/penguins-species/{version.version}"
    assert client.get_run(first["mlflow_run_id"]).data.tags["alias"] == "champion"

    again = trainpipe("run", "configs/default.yaml", "-p", GATE, "--force-stage", "register", "--json", "--tracking-uri", store,
                      "--runs-dir", tmp_path/"runs")  # the same model registered again: it ties, so it does not take the title
    assert again.returncode == 0, again.stderr
    second = last_json(again.stdout)
    promotion = json.loads((Path(second["run_dir"])/"register"/"promotion.json").read_text())
    assert promotion["champion_version"] == str(version.version) and promotion["metric"] == "test_accuracy"
    assert promotion["score"] == promotion["champion_score"] and promotion["alias"] == "challenger"
    assert "does not beat" in promotion["reason"]
    holder = client.get_model_version_by_alias("penguins-species", "challenger")
    assert str(holder.version) == promotion["version"] != str(version.version)
    assert client.get_model_version_by_alias("penguins-species", "champion").version == version.version
    assert holder.tags["trainpipe.test_fingerprint"] == version.tags["trainpipe.test_fingerprint"]

    # the evaluation's HTML report: code hidden, plots embedded, logged, and found by `trainpipe report`
    found = trainpipe("report", first["run_id"], "--runs-dir", tmp_path/"runs")
    assert found.returncode == 0, found.stderr
    page = Path(found.stdout.strip()).read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and "data:image/png;base64" in page
    assert "load_object(" not in page  # the code cells' inputs are not shown
    assert "passed: test_accuracy &gt;= 0.9" in page and "champion, version" in page  # the gate and the alias, in its header
    header = lambda run: (Path(run["run_dir"])/"evaluate"/"report.html").read_text().split("</header>")[0]
    assert '<th scope="row">alias</th><td>challenger, version' in header(second) and "does not beat" in header(second)
    assert '<th scope="row">alias</th><td>not registered</td>' in header(result) and "failed: test_accuracy is" in header(result)
    assert "reports/report.html" in {a.path for a in client.list_artifacts(first["mlflow_run_id"], "reports")}

    # the leaderboard: the three runs, best first, the weak one last
    board = trainpipe("runs", "--experiment", "penguins", "--tracking-uri", store)
    assert board.returncode == 0, board.stderr
    rows = board.stdout.splitlines()[1:]
    assert len(rows) == 3 and rows[-1].split()[1] == result["mlflow_run_id"]
    assert trainpipe("runs", "--experiment", "no-such", "--tracking-uri", store).stderr.startswith("trainpipe: error: experiment 'no-such' is not in")

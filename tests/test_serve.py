"""`trainpipe serve` and `trainpipe predict` for real: uvicorn on 127.0.0.1 ephemeral ports, `mlflow models serve` beside it
for parity, a registered model from a real pipeline run in a real sqlite store."""
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from conftest import PROJECT, TRAINPIPE, call, last_json, server, store_in, trainpipe

MODEL = "models:/penguins-species@champion"
COLUMNS = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]


@pytest.fixture(scope="module")
def registered(tmp_path_factory, migrated_db):
    "The default pipeline run once (no evaluate stage) into a store of its own; its tracking URI."
    tmp = tmp_path_factory.mktemp("serve")
    uri = store_in(tmp, migrated_db)
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", uri, "--runs-dir", tmp/"runs",
                     "-p", "pipeline.stages=[data, features, train, register]")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    smoke = json.loads((Path(result["run_dir"])/"register"/"smoke_test.json").read_text())
    assert smoke["equal"] and smoke["url"].startswith("http://127.0.0.1:")  # the deploy check served it on loopback
    return uri


def trainpipe_serve(store: str, *args: str, env: dict | None = None, **kw):
    return server([str(TRAINPIPE), "serve", "--model", MODEL, *args], {"MLFLOW_TRACKING_URI": store, **(env or {})}, **kw)


@pytest.fixture(scope="module")
def served(registered):
    "One `trainpipe serve` of the champion for the tests that leave it running, with a small body limit (50 kB)."
    with trainpipe_serve(registered, "--max-body-mb", "0.05") as (url, proc): yield url, proc


def metric(url: str, series: str) -> float:
    "The value of one Prometheus series on the server's /metrics, 0 if absent."
    lines = call(f"{url}/metrics")[2].splitlines()
    return next((float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(series + " ")), 0.0)


def penguins(n: int | None = None) -> pd.DataFrame:
    rows = pd.read_csv(PROJECT/"data"/"penguins.csv").drop(columns=["species"]).dropna()
    return rows.head(n) if n else rows


def with_nulls(rows: pd.DataFrame) -> pd.DataFrame:
    "`rows` with the first row's measurements and sex missing."
    rows = rows.astype(object)
    rows.loc[rows.index[0], ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]] = None
    return rows


def split_body(rows: pd.DataFrame) -> str:
    return json.dumps({"dataframe_split": rows[COLUMNS].to_dict(orient="split", index=False)})


def test_same_answers_as_mlflow_models_serve_and_the_routes(registered, served):
    store, (url, _) = registered, served
    rows = penguins(6)
    bodies = [("application/json", split_body(rows)),
              ("application/json", json.dumps({"dataframe_records": rows.to_dict(orient="records")})),
              ("application/json", json.dumps({"instances": rows.head(2).to_dict(orient="records")})),
              ("application/json", json.dumps({"inputs": rows.head(3).to_dict(orient="list")})),
              ("text/csv", rows.to_csv(index=False)),
              ("application/json", split_body(with_nulls(rows.head(3))))]  # nulls beside values: MLflow and trainpipe both impute them
    with server([str(Path(sys.executable).parent/"mlflow"), "models", "serve", "-m", MODEL, "--env-manager", "local"],
                {"MLFLOW_TRACKING_URI": store}, ready="/ping") as (mlflow_url, _):
        theirs = [call(f"{mlflow_url}/invocations", body, kind) for kind, body in bodies]
    answered = metric(url, 'trainpipe_requests_total{route="/invocations",status="200"}')
    ours = [call(f"{url}/invocations", body, kind) for kind, body in bodies]
    assert all(status == 200 for status, _, _ in theirs), theirs
    assert [answer for _, _, answer in ours] == [answer for _, _, answer in theirs]
    assert ours[0][2]["predictions"][0].keys() == {"label", "probability_Adelie", "probability_Chinstrap", "probability_Gentoo"}

    status, _, friendly = call(f"{url}/predict", json.dumps(rows.head(2).to_dict(orient="records")))
    assert status == 200 and friendly["predictions"] == [p["label"] for p in ours[0][2]["predictions"][:2]]
    assert friendly["model"] == {"name": "penguins-species", "version": "1", "run_id": friendly["model"]["run_id"]}
    assert abs(sum(friendly["probabilities"][0].values()) - 1) < 1e-9
    assert call(f"{url}/health")[:1] == (200,) and call(f"{url}/ready")[2] == {"ready": True, "version": "1"}
    status, _, meta = call(f"{url}/metadata")
    assert meta["name"] == "penguins-species" and meta["version"] == "1" and meta["trained_at"]
    assert [c["name"] for c in meta["signature"]["inputs"]] == COLUMNS and "test_accuracy" not in meta["metrics"]  # no evaluate stage ran
    status, head, text = call(f"{url}/metrics")
    assert status == 200 and head["Content-Type"].startswith("text/plain")
    assert metric(url, 'trainpipe_requests_total{route="/invocations",status="200"}') == answered + len(bodies)
    assert "trainpipe_request_seconds_bucket" in text and "trainpipe_batch_rows_count" in text


BAD = [  # (what is wrong, body, content type, expected status and error_code, a phrase the message must hold)
    ("malformed JSON", '{"dataframe_split": ', "application/json", 400, "BAD_REQUEST", "not valid JSON"),
    ("a JSON list", "[1, 2]", "application/json", 400, "BAD_REQUEST", "must be an object"),
    ("no format key", '{"rows": []}', "application/json", 400, "BAD_REQUEST", "exactly one of"),
    ("two format keys", '{"inputs": {}, "instances": []}', "application/json", 400, "BAD_REQUEST", "exactly one of"),
    ("a missing column", json.dumps({"dataframe_records": [{c: 1 for c in COLUMNS[:-1]}]}), "application/json", 400, "INVALID_PARAMETER_VALUE", "column 'year' is missing"),
    ("a repeated column", None, "application/json", 400, "BAD_REQUEST", "column 'island' appears twice"),
    ("text in a number column", None, "application/json", 400, "BAD_REQUEST", "column 'bill_length_mm' takes numbers"),
    ("null in a whole-number column", None, "application/json", 400, "BAD_REQUEST", "column 'year' takes whole numbers"),
    ("a short row", '{"dataframe_split": {"columns": %s, "data": [["Dream", 1.0]]}}' % json.dumps(COLUMNS), "application/json", 400, "BAD_REQUEST", "must hold 7 values"),
    ("no rows", '{"dataframe_split": {"columns": %s, "data": []}}' % json.dumps(COLUMNS), "application/json", 400, "BAD_REQUEST", "holds no rows"),
    ("JSON nested 20,000 deep", "[" * 20_000 + "]" * 20_000, "application/json", 400, "BAD_REQUEST", "nested too deeply"),
    ("plain text", "hello", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE", "not read here"),
    ("latin-1 charset", None, "application/json; charset=latin-1", 415, "UNSUPPORTED_MEDIA_TYPE", "UTF-8"),
    ("CSV that is not UTF-8", b"island,bill\n\xff\xfe\n", "text/csv", 400, "BAD_REQUEST", "not UTF-8"),
    ("a body over the limit", None, "application/json", 413, "REQUEST_TOO_LARGE", "over this server's limit"),
    ("Infinity in a number column", None, "application/json", 400, "BAD_REQUEST", "not a finite number"),
]


def bad_body(what: str, body):
    row = penguins(1).iloc[0].to_dict()
    if what == "a repeated column":
        return json.dumps({"dataframe_split": {"columns": COLUMNS + ["island"], "data": [[row[c] for c in COLUMNS] + ["Dream"]]}})
    if what == "text in a number column": return json.dumps({"dataframe_records": [{**row, "bill_length_mm": "long"}]})
    if what == "null in a whole-number column": return json.dumps({"dataframe_records": [{**row, "year": None}]})
    if what == "latin-1 charset": return split_body(penguins(1))
    if what == "a body over the limit": return split_body(penguins().sample(3000, replace=True, random_state=0))
    if what == "Infinity in a number column": return split_body(penguins(1)).replace("39.1", "Infinity")
    return body


def test_bad_requests_get_their_status_and_the_server_goes_on(served):
    (url, _), good = served, split_body(penguins(2))
    refused = {status: metric(url, f'trainpipe_errors_total{{status="{status}"}}') for status in (400, 413, 415)}
    expected = call(f"{url}/invocations", good)[2]
    for what, body, kind, status, code, phrase in BAD:
        got, head, answer = call(f"{url}/invocations", bad_body(what, body), kind)
        assert (got, answer.get("error_code"), phrase in answer.get("message", "")) == (status, code, True), (what, got, answer)
        assert answer["request_id"] == head["X-Request-ID"]
        assert call(f"{url}/health")[0] == 200 and call(f"{url}/invocations", good)[2] == expected, f"after {what}"
    # a client's extra columns are dropped, as MLflow drops them: a CSV written with its index, rows still holding the target
    with_extras = penguins(2).assign(species="Adelie").to_csv()
    assert call(f"{url}/invocations", with_extras, "text/csv")[2] == expected
    assert call(f"{url}/invocations", method="GET")[0] == 405
    assert call(f"{url}/nowhere")[0] == 404
    status, _, answer = call(f"{url}/predict", '{"records": [{"island": "Dream"}]}')
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE") and "is missing" in answer["message"]
    for status in refused:
        assert metric(url, f'trainpipe_errors_total{{status="{status}"}}') == refused[status] + sum(b[3] == status for b in BAD) + (status == 400)
    assert metric(url, 'trainpipe_errors_total{status="500"}') == 0  # nothing a client sends is a server error


def test_api_key_guards_every_route_but_health(registered):
    store = registered
    good = split_body(penguins(1))
    with trainpipe_serve(store, "--api-key-env", "PENGUIN_KEY", env={"PENGUIN_KEY": "s3cret-key"}, ready="/health") as (url, proc):
        assert call(f"{url}/health")[0] == 200
        for route in ("/ready", "/metadata", "/metrics"): assert call(f"{url}{route}")[0] == 401, route
        status, _, answer = call(f"{url}/invocations", good)
        assert status == 401 and "API key" in answer["message"]
        assert call(f"{url}/invocations", good, headers={"Authorization": "Bearer wrong"})[0] == 401
        deadline = time.monotonic() + 60
        while call(f"{url}/ready", headers={"X-API-Key": "s3cret-key"})[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert call(f"{url}/invocations", good, headers={"Authorization": "Bearer s3cret-key"})[0] == 200
        assert call(f"{url}/invocations", good, headers={"X-API-Key": "s3cret-key"})[0] == 200
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        assert "s3cret-key" not in proc.log()


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(served):
    (url, _), rows = served, penguins(48)
    calls_before = metric(url, "trainpipe_batch_requests_count")
    whole = call(f"{url}/invocations", split_body(rows))[2]["predictions"]
    with ThreadPoolExecutor(24) as pool:
        single = list(pool.map(lambda i: call(f"{url}/invocations", split_body(rows.iloc[[i]]))[2]["predictions"], range(len(rows))))
    assert [s[0] for s in single] == whole
    assert metric(url, "trainpipe_batch_requests_count") - calls_before < len(rows) + 1  # fewer model calls than requests: some were joined


def test_graceful_shutdown_answers_the_requests_in_flight(registered):
    store = registered
    big = split_body(penguins().sample(20_000, replace=True, random_state=1))  # a few hundred ms of model time each
    with trainpipe_serve(store) as (url, proc):
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(call, f"{url}/invocations", big) for _ in range(4)]
            deadline = time.monotonic() + 300  # wait until the server has all four (in flight, or already answered)
            while (metric(url, 'trainpipe_requests_in_flight{route="/invocations"}')
                   + metric(url, 'trainpipe_requests_total{route="/invocations",status="200"}')) < 4:
                assert time.monotonic() < deadline, "the server never had the four requests"
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGTERM)
            answers = [f.result() for f in futures]
        assert [status for status, _, _ in answers] == [200] * 4
        assert all(len(a["predictions"]) == 20_000 for _, _, a in answers)
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
        with pytest.raises(OSError): urllib.request.urlopen(f"{url}/health", timeout=2)  # and then it is gone


def test_reload_alias_swaps_in_the_new_champion_without_dropping_requests(registered, monkeypatch):
    store = registered
    client = mlflow.MlflowClient(store)
    first = client.get_model_version_by_alias("penguins-species", "champion")
    body, statuses, stop = split_body(penguins(3)), [], threading.Event()

    def answered(more: int, deadline: float):
        "Wait until the hammer has had `more` further answers (on a loaded machine they may come slowly)."
        target = len(statuses) + more
        while len(statuses) < target:
            assert time.monotonic() < deadline and worker.is_alive(), f"only {len(statuses)} answers, expected {target}"
            time.sleep(0.05)

    with trainpipe_serve(store, "--reload-alias", "0.3") as (url, _):
        def hammer():
            while not stop.is_set(): statuses.append(call(f"{url}/invocations", body)[0])
        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            answered(5, time.monotonic() + 300)  # requests flowing before the swap
            monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # MLflow resolves a logged model's source through the default store
            second = client.create_model_version("penguins-species", first.source, first.run_id)
            client.set_registered_model_alias("penguins-species", "champion", second.version)
            deadline = time.monotonic() + 300
            while call(f"{url}/metadata")[2]["version"] != str(second.version):
                assert time.monotonic() < deadline, "the new champion was not swapped in"
                time.sleep(0.2)
            answered(5, time.monotonic() + 300)  # and still flowing after it
        finally:
            stop.set()
            worker.join()
            client.set_registered_model_alias("penguins-species", "champion", first.version)
    assert set(statuses) == {200}  # none dropped or refused while the model changed under them


def test_a_model_that_cannot_load_leaves_ready_false_with_the_reason(registered):
    store = registered
    # two workers: each process builds the app from the settings in its environment, and each reports the failure
    with server([str(TRAINPIPE), "serve", "--model", "models:/no-such-model@champion", "--workers", "2"], {"MLFLOW_TRACKING_URI": store},
                ready=None) as (url, proc):
        deadline = time.monotonic() + 60
        while not all("cannot load model" in str(call(f"{url}/ready")[2]) for _ in range(4)):  # whichever worker answers
            assert time.monotonic() < deadline
            time.sleep(0.2)
        status, _, answer = call(f"{url}/ready")
        assert status == 503 and "cannot load model 'models:/no-such-model@champion'" in answer["message"]
        assert call(f"{url}/health")[0] == 200 and call(f"{url}/invocations", split_body(penguins(1)))[0] == 503
        assert proc.poll() is None  # still up, not in a crash loop
        assert proc.log().count("model not loaded: cannot load model") >= 1  # logged by a worker, with its pid


def test_batch_prediction_in_chunks_with_a_bad_row(registered, tmp_path, monkeypatch):
    store = registered
    rows = penguins().sample(1000, replace=True, random_state=2).reset_index(drop=True)
    rows.to_csv(tmp_path/"rows.csv", index=False)
    env = {"MLFLOW_TRACKING_URI": store}
    proc = trainpipe("predict", "--model", MODEL, "--input", tmp_path/"rows.csv", "--output", tmp_path/"scored.parquet", "--chunk-size", "300", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "scored 1,000 rows in 4 chunk(s)" in proc.stdout and "(version 1)" in proc.stdout
    scored = pd.read_parquet(tmp_path/"scored.parquet")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    expected = mlflow.pyfunc.load_model(MODEL).predict(rows)
    assert scored.label.tolist() == expected.label.tolist() and list(scored.columns[:7]) == COLUMNS
    pd.testing.assert_frame_equal(scored[expected.columns].reset_index(drop=True), expected.reset_index(drop=True))

    bad = rows.astype(object)
    bad.loc[730, "body_mass_g"] = "heavy"  # in the third chunk
    bad.to_csv(tmp_path/"bad.csv", index=False)
    proc = trainpipe("predict", "--model", MODEL, "--input", tmp_path/"bad.csv", "--output", tmp_path/"out.csv", "--chunk-size", "300", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "column 'body_mass_g' takes numbers (double), and data row 731 (counting from 1) holds 'heavy'" in proc.stderr
    assert not list(tmp_path.glob("*out.csv*"))  # no output, not even a partial one

    proc = trainpipe("predict", "--model", MODEL, "--input", tmp_path/"missing.csv", "--output", tmp_path/"out.csv", env=env)
    assert proc.returncode == 2 and proc.stderr.strip() == f"trainpipe: error: --input {tmp_path/'missing.csv'} does not exist"


def test_metrics_of_two_workers_are_their_sum(registered, tmp_path):
    "With --workers 2 any worker's /metrics counts every worker's requests (prometheus-client's multiprocess mode)."
    body, sent = split_body(penguins(1)), 40
    with trainpipe_serve(registered, "--workers", "2", env={"TMPDIR": str(tmp_path)}) as (url, proc):
        deadline = time.monotonic() + 300
        while call(f"{url}/metrics")[2].count("trainpipe_model_info{") < 2:  # both workers have loaded the model
            assert time.monotonic() < deadline, "the second worker never loaded the model"
            time.sleep(0.2)
        folder, = tmp_path.glob("trainpipe-metrics-*")  # made by the server for this run
        before = metric(url, 'trainpipe_requests_total{route="/invocations",status="200"}')
        assert all(call(f"{url}/invocations", body)[0] == 200 for _ in range(sent))  # a connection each: the kernel spreads them
        workers = {line.split('pid="')[1].split('"')[0] for line in call(f"{url}/metrics")[2].splitlines() if line.startswith("trainpipe_model_info{")}
        assert len(workers) == 2
        for _ in range(4):  # whichever worker answers the scrape, the count is the sum over both
            assert metric(url, 'trainpipe_requests_total{route="/invocations",status="200"}') == before + sent
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert not folder.exists()  # removed when the server stopped

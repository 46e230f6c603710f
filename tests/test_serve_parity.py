"""`trainpipe serve` answers MLflow's scoring protocol as `mlflow models serve` does, on MLflow's own test cases.

The requests are MLflow's: every one of mlflow/mlflow `tests/pyfunc/test_scoring_server.py` that applies to a tabular
model, rebuilt for the penguin champion in `serve_cases.py` (each case names the MLflow test function it comes from).
Both servers serve the same registered model, started once for this module, on 127.0.0.1; each case is sent, byte for
byte, to both, and is a test of its own. An answer is the same when

- the HTTP status is the same;
- where MLflow's body is JSON with an `error_code`, trainpipe's carries the same `error_code` (MLflow's 415s are
  text/plain, and FastAPI's own 404/405 say only {"detail": ...}: there the status is all there is to compare);
- for a 200, the body is the same JSON (the same bytes where it is not JSON: /ping's "\\n", /version's "3.17.2").

Where trainpipe differs on purpose, `DIFFERENCES` says so and why, and the case checks trainpipe's own answer instead
(and that MLflow still answers otherwise: an entry MLflow has caught up with is stale). Whatever the case, trainpipe never
answers a 5xx: each request here is the client's doing, not the server's.
"""
import contextlib
import dataclasses
import http.client
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import pandas as pd
import pytest

from conftest import server
from serve_cases import BY_ID, CASES, IDS, JSON, ROWS, TYPES, Case
from test_serve import MODEL, registered, trainpipe_serve  # noqa: F401 (registered: the fixture, run into this module's store)

# case id -> (trainpipe's status, trainpipe's error_code, why trainpipe answers otherwise than `mlflow models serve`)
DIFFERENCES = {
    "ct_mixed_case": (200, None, "media types are case-insensitive (RFC 9110, 8.3.1): 'Application/JSON' is JSON. MLflow "
                                 "compares the type with 'application/json' exactly and answers 415"),
    "ct_missing": (415, "UNSUPPORTED_MEDIA_TYPE", "a request without Content-Type is the client's mistake, and a media type "
                                                  "we cannot read is a 415. MLflow answers 500 Internal Server Error: it calls "
                                                  ".split() on the absent header (AttributeError)"),
    "year_fraction": (400, "BAD_REQUEST", "2009.5 is no value of the long column year. MLflow truncates it to 2009 without "
                                          "a word (pandas astype('int64') in cast_df_types_according_to_schema) and answers "
                                          "200; trainpipe refuses it with MLflow's own code for a value it cannot convert "
                                          "(as for 'next year': 400 BAD_REQUEST)"),
    "ct_param_name_case": (200, None, "content-type parameter names are case-insensitive too (RFC 9110, 5.6.6): "
                                      "'Charset=UTF-8' is UTF-8. MLflow compares the name exactly and answers 415"),
    "duplicate_column_end": (400, "BAD_REQUEST", "a column named twice is refused with BAD_REQUEST wherever the copy is. MLflow's "
                                                 "code depends on the position (BAD_REQUEST at the front, INVALID_PARAMETER_VALUE "
                                                 "at the end, from a cast that fails on a two-column frame)"),
    "deep_nesting": (400, "BAD_REQUEST", "JSON nested deeper than the parser's recursion limit is a body the server cannot "
                                         "read, as malformed JSON is: 400 BAD_REQUEST. MLflow's json.loads raises "
                                         "RecursionError, which it does not catch: 500 Internal Server Error"),
}

# case id -> why trainpipe's 200 has a body of its own (the status is MLflow's)
OWN_BODY = {
    "health": "trainpipe's /health is a liveness probe, 200 {\"status\": \"ok\"} while the process lives, even before the "
              "model has loaded (readiness is /ping and /ready). MLflow's /health is its /ping, whose body is a newline",
}


@dataclasses.dataclass
class Answer:
    status: int
    content_type: str
    raw: bytes
    body: object  # the parsed JSON, or None when the body is not JSON

    @property
    def error_code(self) -> str | None:
        return self.body.get("error_code") if isinstance(self.body, dict) else None

    def __str__(self):
        message = self.body.get("message", self.body) if isinstance(self.body, dict) and self.status != 200 else self.raw[:300]
        return f"{self.status} {self.error_code or ''} ({self.content_type}): {str(message)[:400]}"


def send(url: str, case: Case) -> Answer:
    """One case's request, exactly: http.client, not conftest's `call`, since urllib adds a Content-Type of its own
    (application/x-www-form-urlencoded) to any POST without one, and `ct_missing` must go without."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    try:
        connection.request(case.method, case.path, body=case.body,
                           headers={} if case.content_type is None else {"Content-Type": case.content_type})
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try: body = json.loads(raw)
    except ValueError: body = None
    return Answer(response.status, response.getheader("Content-Type", ""), raw, body)


def same_body(ours: Answer, theirs: Answer) -> bool:
    "The same JSON, or where MLflow's body is not JSON (/ping, /version), the same bytes."
    return ours.body == theirs.body if theirs.body is not None else ours.raw == theirs.raw


@pytest.fixture(scope="module")
def servers(registered):
    "`mlflow models serve` and `trainpipe serve` of the same champion, each on a free 127.0.0.1 port: their URLs."
    store = registered
    with contextlib.ExitStack() as stack:
        theirs, _ = stack.enter_context(server([str(Path(sys.executable).parent/"mlflow"), "models", "serve", "-m", MODEL,
                                                "--env-manager", "local"], {"MLFLOW_TRACKING_URI": store}, ready="/ping"))
        ours, _ = stack.enter_context(trainpipe_serve(store))
        yield {"mlflow": theirs, "trainpipe": ours}


def test_the_cases_are_built_for_the_models_signature(registered, monkeypatch):
    "serve_cases.py writes its bodies for this signature, and its params cases for a model without a params schema."
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered)
    model = mlflow.pyfunc.load_model(MODEL)
    schema = model.metadata.get_input_schema()
    assert {c.name: c.type.name for c in schema.inputs} == TYPES
    assert all(c.required for c in schema.inputs) and model.metadata.get_params_schema() is None
    assert len(CASES) >= 40 and set(DIFFERENCES) <= set(BY_ID), set(DIFFERENCES) - set(BY_ID)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_answer_as_mlflow_models_serve(servers, case):
    theirs, ours = send(servers["mlflow"], case), send(servers["trainpipe"], case)
    shown = f"{case.id} ({case.source})\n  mlflow:    {theirs}\n  trainpipe: {ours}"
    assert ours.status < 500, f"trainpipe answered a 5xx to a client's request\n{shown}"
    if case.id in DIFFERENCES:
        status, error_code, why = DIFFERENCES[case.id]
        assert (theirs.status, theirs.error_code) != (status, error_code), f"MLflow now answers as trainpipe: drop the DIFFERENCES entry\n{shown}"
        assert (ours.status, ours.error_code) == (status, error_code), f"trainpipe differs from MLflow on purpose here ({why})\n{shown}"
        if status == 200:  # what MLflow answers to the same body sent as plain application/json
            plain = send(servers["mlflow"], dataclasses.replace(case, content_type=JSON))
            assert plain.status == 200 and ours.body == plain.body, f"{shown}\n  mlflow as application/json: {plain}"
        return
    assert ours.status == theirs.status, f"a status other than MLflow's\n{shown}"
    if theirs.error_code is not None:
        assert ours.error_code == theirs.error_code, f"an error_code other than MLflow's\n{shown}"
    if theirs.status == 200 and case.id not in OWN_BODY:
        assert same_body(ours, theirs), f"a 200 with another body than MLflow's\n{shown}"


def test_mlflows_scoring_server_client_works_against_trainpipe(servers):
    "MLflow's test_scoring_server_client, pointed at trainpipe: ready by /ping, MLflow's version, the same predictions."
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient
    from mlflow.version import VERSION
    ours, theirs = (ScoringServerClient("127.0.0.1", urlsplit(servers[s]).port) for s in ("trainpipe", "mlflow"))
    ours.wait_server_ready(timeout=300)  # the fixture waited for /ready already; this is /ping's turn (a limit for a hung server, not a wait)
    assert ours.get_version() == VERSION
    pd.testing.assert_frame_equal(ours.invoke(ROWS).get_predictions(), theirs.invoke(ROWS).get_predictions())

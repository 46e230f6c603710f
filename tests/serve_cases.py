"""The requests of MLflow's own scoring-server tests, adapted to the penguin model, for `test_serve_parity.py`.

Source: mlflow/mlflow `tests/pyfunc/test_scoring_server.py` (its test functions are named in each case's `source`), read
beside `mlflow/pyfunc/scoring_server/__init__.py` and `client.py` of the MLflow this project installs. MLflow's tests
there use an iris k-NN or a Keras model; each request they send that applies to a tabular model is rebuilt here for the
champion `models:/penguins-species@champion`, whose input signature is

    island: string, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g: double, sex: string, year: long

(as `mlflow.pyfunc.load_model(MODEL).metadata.get_input_schema()` reports it; no params schema). Their tests of LLM
payloads, Keras tensors, `get_cmd` and the parser's internals have no request a tabular model takes; the schema
conversions that `test_parse_with_schema` checks on the parser are sent here as requests instead, one column each.

A case is data only: an id, where it comes from, the HTTP method, path, Content-Type header (None: no header at all) and
the body's exact bytes. `test_serve_parity.py` sends each to `mlflow models serve` and to `trainpipe serve`.
"""
import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from conftest import PROJECT

COLUMNS = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
TYPES = {"island": "string", "bill_length_mm": "double", "bill_depth_mm": "double", "flipper_length_mm": "double",
         "body_mass_g": "double", "sex": "string", "year": "long"}  # the signature; the test checks it against the model
JSON, CSV, PARQUET = "application/json", "text/csv", "application/vnd.apache.parquet"


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # the MLflow test function the request comes from, and what is adapted
    method: str
    path: str
    content_type: str | None  # the Content-Type header exactly as sent; None sends none
    body: bytes | None

    def __repr__(self): return f"Case({self.id})"


def penguins() -> pd.DataFrame:
    "Four complete rows from data/penguins.csv, one every 85 (all three species), without the target; index 0..3."
    rows = pd.read_csv(PROJECT/"data"/"penguins.csv").dropna()
    return rows.iloc[::85].head(4).reset_index(drop=True)


ALL = penguins()  # with `species`, for the cases that send the target along
ROWS = ALL.drop(columns=["species"])


def records(rows: pd.DataFrame = ROWS) -> list[dict]:
    return rows.to_dict(orient="records")


def one_record(**changes) -> list[dict]:
    "The first row as a one-record list, with `changes` (a column set to a value; a column given as ... is removed)."
    row = {**records()[0], **changes}
    return [{k: v for k, v in row.items() if v is not ...}]


def with_nulls() -> pd.DataFrame:
    "ROWS with the first row's measurements and sex missing (as tests/test_serve.py's with_nulls)."
    rows = ROWS.astype(object)
    rows.loc[0, ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]] = None
    return rows


def dumps(payload) -> bytes:
    "JSON as Python writes it: NaN and Infinity are allowed, as json.dumps allows them (and json.loads reads them back)."
    return json.dumps(payload).encode()


def split(rows: pd.DataFrame = ROWS, index: bool = False) -> dict:
    return rows.to_dict(orient="split", index=index)


def split_of(columns: list[str], data: list[list]) -> bytes:
    return dumps({"dataframe_split": {"columns": columns, "data": data}})


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post(id: str, source: str, body, content_type: str | None = JSON, path: str = "/invocations") -> Case:
    return Case(id, source, "POST", path, content_type, body if isinstance(body, bytes) or body is None else dumps(body))


def get(id: str, source: str, path: str) -> Case:
    return Case(id, source, "GET", path, None, None)


# MLflow's test function names, shortened once here so that each case says which one it adapts.
MALFORMED = "test_scoring_server_responds_to_malformed_json_input_with_error_code_and_message"
INVALID_FORMAT = "test_scoring_server_responds_to_invalid_json_format_with_error_code_and_message"
PANDAS_FORMAT = "test_scoring_server_responds_to_invalid_pandas_input_format_with_stacktrace_and_error_code"
INVALID_FRAME = "test_scoring_server_responds_to_invalid_dataframe_with_stacktrace_and_error_code"
INCOMPATIBLE = "test_scoring_server_responds_to_incompatible_inference_dataframe_with_stacktrace_and_error_code"
INVALID_CSV = "test_scoring_server_responds_to_invalid_csv_input_with_stacktrace_and_error_code"
RECORDS = "test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_records_orientation"
SPLIT = "test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_split_orientation"
BAD_TYPE = "test_scoring_server_responds_to_invalid_content_type_request_with_unsupported_content_type_code"
BAD_PARAM = "test_scoring_server_responds_to_invalid_content_type_request_with_unrecognized_content_param"
TF_SKLEARN = "test_scoring_server_successfully_evaluates_correct_tf_serving_sklearn"
TF_INSTANCES = "test_scoring_server_successfully_evaluates_correct_tf_serving_keras_instances"
TF_INPUTS = "test_scoring_server_successfully_evaluates_correct_tf_serving_keras_inputs"
RECORDS_DF = "test_records_oriented_json_to_df"
SPLIT_DF = "test_split_oriented_json_to_df"
WITH_SCHEMA = "test_parse_with_schema"
WITH_SCHEMA_CSV = "test_parse_with_schema_csv"
SERVING_SCHEMA = "test_serving_model_with_schema"
PARAM_SCHEMA = "test_serving_model_with_param_schema"
WITH_PATH = "test_parse_json_input_including_path"
CLIENT = "test_scoring_server_client"
ROUTES = "mlflow/pyfunc/scoring_server/__init__.py init(): the routes /ping, /health, /version, /invocations"

_shuffled = ROWS[["year", "sex", "island", "body_mass_g", "bill_depth_mm", "flipper_length_mm", "bill_length_mm"]]
_split_body = dumps({"dataframe_split": split()})

CASES = [
    # --- the routes beside /invocations: ScoringServerClient.wait_server_ready() polls /ping, get_version() reads /version
    get("ping", f"{CLIENT}: client.wait_server_ready() polls GET /ping until it answers 200", "/ping"),
    get("health", f"{ROUTES}: /health is the same handler as /ping", "/health"),
    get("version", f"{CLIENT}: client.get_version() == mlflow.version.VERSION, the text of GET /version", "/version"),
    get("invocations_get", f"{ROUTES}: /invocations takes POST only", "/invocations"),
    post("ping_post", f"{ROUTES}: /ping takes GET only", None, None, path="/ping"),
    post("unknown_path", f"{ROUTES}: no route but these", _split_body, path="/predictions"),

    # --- the four JSON formats, each in its records and columns forms
    post("split", f"{SPLIT}: dataframe_split from DataFrame.to_dict(orient='split'), here without the index", {"dataframe_split": split()}),
    post("split_with_index", f"{SPLIT} and {SPLIT_DF}: to_dict(orient='split') as MLflow's test writes it, with 'index'",
         {"dataframe_split": split(index=True)}),
    post("split_charset", f"{SPLIT}: 'application/json; charset=UTF-8'", {"dataframe_split": split()}, f"{JSON}; charset=UTF-8"),
    post("split_shuffled", f"{WITH_SCHEMA} and {SERVING_SCHEMA}: columns in another order than the signature's",
         {"dataframe_split": split(_shuffled)}),
    post("records", f"{RECORDS}: dataframe_records from to_dict(orient='records')", {"dataframe_records": records()}),
    post("records_charset", f"{RECORDS}: 'application/json; charset=UTF-8'", {"dataframe_records": records()}, f"{JSON}; charset=UTF-8"),
    post("records_shuffled", f"{RECORDS_DF}: records order their keys as they like", {"dataframe_records": records(_shuffled)}),
    post("instances_records", f"{TF_INSTANCES}: instances as a list of {{column: value}} objects", {"instances": records()}),
    post("instances_columns", f"{TF_INSTANCES} with the columns form of {TF_INPUTS}: instances as {{column: [values]}}",
         {"instances": ROWS.to_dict(orient="list")}),
    post("instances_lists", f"{TF_SKLEARN}: instances as plain rows (inference_data.tolist()), no column names",
         {"instances": ROWS.values.tolist()}),
    post("inputs_columns", f"{TF_INPUTS} and {SERVING_SCHEMA} ('inputs' format): inputs as {{column: [values]}}",
         {"inputs": ROWS.to_dict(orient="list")}),
    post("inputs_records", f"{TF_INPUTS} in the records form of {TF_INSTANCES}: inputs as a list of objects", {"inputs": records()}),
    post("inputs_lists", f"{TF_SKLEARN} with 'inputs': plain rows, no column names", {"inputs": ROWS.values.tolist()}),
    post("inputs_one_row_scalars", f"{TF_INPUTS}: one row given as {{column: value}}, no lists", {"inputs": records()[0]}),

    # --- CSV and Parquet bodies
    post("csv", f"{WITH_SCHEMA_CSV}: DataFrame.to_csv(index=False)", ROWS.to_csv(index=False).encode(), CSV),
    post("csv_shuffled", f"{WITH_SCHEMA_CSV}: the columns shuffled (_shuffle_pdf) before to_csv", _shuffled.to_csv(index=False).encode(), CSV),
    post("csv_with_index", f"{INVALID_CSV}: DataFrame.to_csv() with its default index, an unnamed first column",
         ROWS.to_csv().encode(), CSV),
    post("csv_with_target", f"{WITH_SCHEMA_CSV}: the rows as read from data/penguins.csv, the target 'species' still in",
         ALL.to_csv(index=False).encode(), CSV),
    post("csv_extra_column", f"{WITH_SCHEMA_CSV}: a column the signature does not name",
         ROWS.assign(wingspan=1.0).to_csv(index=False).encode(), CSV),
    post("csv_charset", f"{RECORDS} (charset) for CSV: 'text/csv; charset=utf-8'", ROWS.to_csv(index=False).encode(), f"{CSV}; charset=utf-8"),
    post("csv_empty", f"{INVALID_CSV}: an empty body ('Any empty string is not valid pandas CSV')", b"", CSV),
    post("csv_header_only", f"{INVALID_CSV}: the header row and no data", (",".join(COLUMNS) + "\n").encode(), CSV),
    post("csv_not_utf8", f"{INVALID_CSV}: CSV bytes that are not UTF-8 (latin-1 é in an island)",
         ROWS.assign(island="Biscoé").to_csv(index=False).encode("latin-1"), CSV),
    post("csv_text_in_double", f"{WITH_SCHEMA_CSV}: the CSV parser is given the signature's dtypes; 'heavy' is no double",
         ROWS.astype(object).assign(body_mass_g="heavy").to_csv(index=False).encode(), CSV),
    post("parquet", "CONTENT_TYPE_PARQUET of scoring_server/__init__.py: a body from DataFrame.to_parquet()", parquet(ROWS), PARQUET),
    post("parquet_with_target", "CONTENT_TYPE_PARQUET: the target 'species' still in", parquet(ALL), PARQUET),
    post("parquet_garbage", f"{INVALID_CSV} for Parquet: bytes that are not a Parquet file", b"PAR1 this is not parquet", PARQUET),

    # --- content types and their parameters
    post("ct_unsupported", f"{BAD_TYPE}: 'not_a_supported_content_type'", _split_body, "not_a_supported_content_type"),
    post("ct_text_plain", f"{BAD_TYPE}: text/plain", _split_body, "text/plain"),
    post("ct_unknown_param", f"{BAD_PARAM}: 'application/json; something=something'", _split_body, f"{JSON}; something=something"),
    post("ct_format_param", f"{BAD_PARAM}: MLflow 1.x's 'format=pandas-split' parameter, gone since 2.0", _split_body, f"{JSON}; format=pandas-split"),
    post("ct_latin1", f"{RECORDS} (charset): charset=latin-1; the server reads UTF-8 only", _split_body, f"{JSON}; charset=latin-1"),
    post("ct_mixed_case", f"{BAD_TYPE}: the media type in other letter case, 'Application/JSON' (RFC 9110: case-insensitive)", _split_body, "Application/JSON"),
    post("ct_param_name_case", f"{BAD_PARAM}: 'Charset=UTF-8', the parameter name in other case (RFC 9110: case-insensitive)",
         _split_body, f"{JSON}; Charset=UTF-8"),
    post("ct_spaces", f"{RECORDS} (charset): spaces around the ';'", _split_body, f"{JSON} ; charset=utf-8"),
    post("ct_missing", f"{BAD_TYPE}: no Content-Type header at all", _split_body, None),

    # --- bodies that are not one of the formats
    post("json_malformed", f"{MALFORMED}: 'this is,,,, not valid json'", b"this is,,,, not valid json"),
    post("json_empty_body", f"{MALFORMED}: an empty body", b""),
    post("json_not_utf8", f"{MALFORMED}: JSON bytes that are not UTF-8 (latin-1 é)", json.dumps({"dataframe_records": one_record(island="Biscoé")}, ensure_ascii=False).encode("latin-1")),
    post("json_utf8_bom", f"{MALFORMED}: UTF-8 JSON behind a byte-order mark (Python's json.loads of bytes reads it)",
         b"\xef\xbb\xbf" + _split_body),
    post("json_utf16", f"{MALFORMED}: the JSON in UTF-16, no charset given (json.loads of bytes detects UTF-16)",
         _split_body.decode().encode("utf-16")),
    post("json_number", f"{INVALID_FORMAT}: the JSON number 1", b"1"),
    post("json_string", f"{INVALID_FORMAT}: the JSON string \"1\"", b'"1"'),
    post("json_list", f"{INVALID_FORMAT}: the JSON list [1]", b"[1]"),
    post("json_list_of_records", f"{INVALID_FORMAT}: a JSON list of records, without a format key", records()),
    post("json_unknown_key", f"{INVALID_FORMAT}: {{'not': 'a serialized dataframe'}}", {"not": "a serialized dataframe"}),
    post("json_two_keys", f"{INVALID_FORMAT}: {{'dataframe_records': [], 'dataframe_split': {{'data': []}}}}",
         {"dataframe_records": [], "dataframe_split": {"data": []}}),
    post("json_format_key_case", f"{INVALID_FORMAT}: the format key in other case, 'Dataframe_Split'", {"Dataframe_Split": split()}),
    post("records_given_split", f"{PANDAS_FORMAT}: dataframe_records given to_dict(orient='split')", {"dataframe_records": split(index=True)}),
    post("records_given_columns", f"{PANDAS_FORMAT}: dataframe_records given a dict of columns {{column: [values]}}",
         {"dataframe_records": ROWS.to_dict(orient="list")}),
    post("split_given_records", f"{PANDAS_FORMAT}: dataframe_split given to_dict(orient='records')", {"dataframe_split": records()}),
    post("split_invalid_frame", f"{INVALID_FRAME}: {{'index': [1, 2], 'data': [[1], [2], [3]]}}",
         {"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}}),
    post("split_extra_key", f"{INVALID_FRAME}: a key beside columns, data and index ('dtype')",
         {"dataframe_split": {**split(), "dtype": "float64"}}),
    post("split_no_columns", f"{INVALID_FRAME}: data without its columns (pandas names them 0..6)", {"dataframe_split": {"data": ROWS.values.tolist()}}),
    post("records_given_lists", f"{PANDAS_FORMAT}: dataframe_records given plain rows, no column names", {"dataframe_records": ROWS.values.tolist()}),
    post("split_short_row", f"{INVALID_FRAME}: a row with fewer values than columns", split_of(COLUMNS, [ROWS.values.tolist()[0][:2]])),
    post("deep_nesting", f"{MALFORMED}: 10000 nested lists, past the JSON parser's recursion limit",
         ('{"inputs": %s}' % nested(10_000)).encode()),

    # --- params (`"params": {...}` beside the data)
    post("params_unknown", f"{PARAM_SCHEMA}: params the model has no params schema for ('Ignore parameters ... not defined')",
         {"dataframe_split": split(), "params": {"invalid_param": "value"}}),
    post("params_list", f"{PARAM_SCHEMA}: params that are not a JSON object", {"dataframe_split": split(), "params": [1]}),
    post("params_null", f"{PARAM_SCHEMA}: 'params': null, as no params", {"dataframe_split": split(), "params": None}),

    # --- columns: missing, extra, duplicated, the wrong frame altogether
    post("incompatible_frame", f"{INCOMPATIBLE}: pd.DataFrame(np.array(range(10))), one column named 0",
         {"dataframe_split": pd.DataFrame(np.array(range(10))).to_dict(orient="split")}),
    post("missing_column", f"{INCOMPATIBLE}: the column 'year' left out", {"dataframe_records": one_record(year=...)}),
    post("missing_column_in_one_record", f"{RECORDS_DF}: one record of two without 'sex' (pandas reads a missing key as NaN)",
         {"dataframe_records": [records()[0], {k: v for k, v in records()[1].items() if k != "sex"}]}),
    post("extra_column", f"{INCOMPATIBLE}: a column the signature does not name, 'wingspan'", {"dataframe_records": one_record(wingspan=1.0)}),
    post("target_column", f"{WITH_SCHEMA}: the target 'species' sent along", {"dataframe_split": split(ALL)}),
    post("duplicate_column_end", f"{SPLIT_DF}: dataframe_split columns with 'year' twice, the second at the end",
         split_of(COLUMNS + ["year"], [r + [r[-1]] for r in ROWS.values.tolist()])),
    post("duplicate_column_front", f"{SPLIT_DF}: dataframe_split columns with 'island' twice, the first at the front",
         split_of(["island"] + COLUMNS, [[r[0]] + r for r in ROWS.values.tolist()])),
    post("duplicate_column_conflicting", f"{SPLIT_DF}: 'year' twice with different values, 2009 then 'oops'",
         split_of(COLUMNS + ["year"], [r + ["oops"] for r in ROWS.values.tolist()])),

    # --- values MLflow converts (or not) by the schema: test_parse_with_schema's 'bad_*' columns, one column at a time
    post("year_string", f"{WITH_SCHEMA}: '2009' (text) for the long column year", {"dataframe_records": one_record(year="2009")}),
    post("year_float_whole", f"{WITH_SCHEMA}: 2009.0 for the long column year", {"dataframe_records": one_record(year=2009.0)}),
    post("year_fraction", f"{WITH_SCHEMA}: 2009.5 for the long column year (bad_integer: 'forced ignoring ... loss of precision')",
         {"dataframe_records": one_record(year=2009.5)}),
    post("year_huge", f"{WITH_SCHEMA}: 10**30 for the long column year (bad_integer: overflow)", {"dataframe_records": one_record(year=10**30)}),
    post("year_null", f"{WITH_SCHEMA}: null for the long column year", {"dataframe_records": one_record(year=None)}),
    post("year_text", f"{WITH_SCHEMA}: 'next year' for the long column year", {"dataframe_records": one_record(year="next year")}),
    post("double_string", f"{WITH_SCHEMA}: '47.5' (text) for the double column bill_length_mm", {"dataframe_records": one_record(bill_length_mm="47.5")}),
    post("double_true", f"{WITH_SCHEMA}: true for the double column bill_length_mm", {"dataframe_records": one_record(bill_length_mm=True)}),
    post("double_int", f"{WITH_SCHEMA}: 47 (a JSON integer) for the double column bill_length_mm", {"dataframe_records": one_record(bill_length_mm=47)}),
    post("double_text", f"{WITH_SCHEMA}: 'long' for the double column bill_length_mm", {"dataframe_records": one_record(bill_length_mm="long")}),
    post("double_infinity", f"{WITH_SCHEMA}: Infinity (Python's json writes and reads it) in bill_length_mm",
         {"dataframe_records": one_record(bill_length_mm=float("inf"))}),
    post("double_minus_infinity", f"{WITH_SCHEMA}: -Infinity in bill_length_mm", {"dataframe_records": one_record(bill_length_mm=float("-inf"))}),
    post("double_nan", f"{WITH_SCHEMA}: NaN in bill_length_mm", {"dataframe_records": one_record(bill_length_mm=float("nan"))}),
    post("double_huge", f"{WITH_SCHEMA}: 1e400, which Python's json reads as inf, in bill_length_mm",
         dumps({"dataframe_records": one_record(bill_length_mm=-1.0)}).replace(b"-1.0", b"1e400")),  # json.dumps cannot write it
    post("string_int", f"{WITH_SCHEMA}: 1 for the string column sex (bad_string: 'recognized as int64')", {"dataframe_records": one_record(sex=1)}),
    post("string_looks_numeric", f"{RECORDS_DF}: '95120' in the string column island stays text", {"dataframe_records": one_record(island="95120")}),
    post("string_url", f"{WITH_PATH}: URL-like text ('http://foo.com', 'aaa://bbb') in string columns",
         {"dataframe_records": one_record(island="http://foo.com", sex="aaa://bbb")}),
    post("nulls", "tests/test_serve.py's parity body: the measurements and sex of one row null, beside full rows",
         {"dataframe_split": split(with_nulls())}),
    post("string_null", f"{WITH_SCHEMA}: null for the string column sex", {"dataframe_records": one_record(sex=None)}),

    # --- empty data
    post("records_empty", f"{INVALID_FORMAT}: dataframe_records [] alone", {"dataframe_records": []}),
    post("split_no_rows", f"{SPLIT}: dataframe_split with all the columns and no rows", {"dataframe_split": {"columns": COLUMNS, "data": []}}),
    post("inputs_empty", f"{TF_INPUTS}: inputs {{}}", {"inputs": {}}),
    post("instances_empty", f"{TF_INSTANCES}: instances []", {"instances": []}),
]

IDS = [c.id for c in CASES]
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "case ids must be unique"

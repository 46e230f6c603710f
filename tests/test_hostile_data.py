"""Hostile data (issue 18): files in another encoding, infinite numbers, columns of lists, and a folder that is not a
folder of texts are each refused with one sentence that names the thing and the fix (or read, where they can be)."""
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import trainpipe
from trainpipe.config import DataConfig, SplitConfig
from trainpipe.core import TrainpipeError
from trainpipe.data import ingest, ingest_in_chunks
from trainpipe.schema import check_finite
from trainpipe.scoring import CSV, JSON, BadRequest, parse_body
from trainpipe.sources import check_text_folder, read_source

fast = pytest.mark.fast  # in the fast tier (`make test-fast`): in-process, no pipeline run


def refusal(call) -> str:
    "The one sentence `call` is refused with."
    with pytest.raises(TrainpipeError) as e: call()
    message = str(e.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


# --- 1. encodings ---------------------------------------------------------------------------------------------------

@fast
def test_a_cp1252_file_is_read_as_cp1252(tmp_path):
    (tmp_path/"excel.csv").write_bytes("name,x,y\ncafé,1,a\nnaïve,2,b\nZoë,3,a\n".encode("cp1252"))
    table = ingest(DataConfig(source=str(tmp_path/"excel.csv"), target="y")).table
    assert table.name.tolist() == ["café", "naïve", "Zoë"]


@fast
def test_a_file_that_stops_being_utf8_after_its_first_64_kb_is_read_again_as_cp1252(tmp_path):
    (tmp_path/"late.csv").write_bytes(b"name,y\n" + b"plain,a\nplain,b\n" * 5_000 + "café,a\n".encode("cp1252"))
    assert ingest(DataConfig(source=str(tmp_path/"late.csv"), target="y")).table.name.iloc[-1] == "café"


@fast
def test_data_encoding_is_used_and_a_wrong_one_is_one_sentence(tmp_path):
    (tmp_path/"excel.csv").write_bytes("name,y\ncafé,a\nbob,b\n".encode("cp1252"))
    data = DataConfig(source=str(tmp_path/"excel.csv"), target="y")
    assert ingest(replace(data, encoding="latin-1")).table.name.tolist() == ["café", "bob"]
    said = refusal(lambda: ingest(replace(data, encoding="utf-8")))
    assert said.startswith(f"data.source '{tmp_path/'excel.csv'}' is not utf-8 text (data.encoding): column 'name'") and "set data.encoding" in said
    said = refusal(lambda: ingest(replace(data, encoding="klingon")))
    assert said.startswith("data.encoding 'klingon' is not an encoding Python knows")


@fast
def test_bytes_that_are_neither_utf8_nor_cp1252_name_the_fix(tmp_path):
    (tmp_path/"odd.csv").write_bytes(b"name,y\n\x81\x8d,a\nbob,b\n")
    said = refusal(lambda: ingest(DataConfig(source=str(tmp_path/"odd.csv"), target="y")))
    assert said == (f"data.source '{tmp_path/'odd.csv'}' is not UTF-8 or cp1252 text: byte 0x81 does not decode; "
                    "set data.encoding to the file's encoding, e.g. latin-1 or utf-16")


@fast
def test_the_streamed_path_reads_the_encoding_too(tmp_path):
    (tmp_path/"excel.csv").write_bytes(("x,y\n" + "1,café\n2,thé\n" * 50).encode("cp1252"))
    data = DataConfig(source=str(tmp_path/"excel.csv"), target="y", memory_limit_mb=1)
    ingest_in_chunks(data, tmp_path/"parts", SplitConfig(test_size=0.3))
    parts = pd.concat([pd.read_parquet(p) for p in (tmp_path/"parts").glob("*.parquet")])
    assert set(parts.y) == {"café", "thé"}


# --- 2. infinite numbers --------------------------------------------------------------------------------------------

@fast
def test_inf_is_refused_in_the_data_stage_naming_the_column_and_rows(tmp_path):
    (tmp_path/"inf.csv").write_text("a,b,y\n1,1,0\ninf,2,1\n3,3,0\n-inf,4,1\n5,5,0\n")
    said = refusal(lambda: ingest(DataConfig(source=str(tmp_path/"inf.csv"), target="y")))
    assert said == ("data column 'a' holds an infinite number in 2 row(s) (rows 2, 4); fix the data, "
                    "or set data.schema.a.infinite to missing to read inf and -inf as missing values")


@fast
def test_infinite_missing_reads_them_as_missing_even_beside_a_max(tmp_path):
    (tmp_path/"inf.csv").write_text("a,y\n1,0\ninf,1\n3,0\n-inf,1\n5,0\n")
    data = DataConfig(source=str(tmp_path/"inf.csv"), target="y", schema={"a": {"infinite": "missing", "max": 10}})
    assert ingest(data).table.a.isna().tolist() == [False, True, False, True, False]
    said = refusal(lambda: check_finite(pd.DataFrame({"a": [np.inf]}), {"a": {"infinite": "zero"}}))
    assert said == "unknown data.schema.a.infinite 'zero'; choose one of: error, missing"


@fast
def test_inf_is_refused_when_streamed(tmp_path):
    (tmp_path/"inf.csv").write_text("a,y\n1,0\n2,1\nInfinity,0\n")
    data = DataConfig(source=str(tmp_path/"inf.csv"), target="y", memory_limit_mb=1)
    assert "data column 'a' holds an infinite number in 1 row(s)" in refusal(lambda: ingest_in_chunks(data, tmp_path/"parts"))
    assert not list((tmp_path/"parts").glob("*.parquet"))  # nothing half-written


@fast
@pytest.mark.parametrize("body,media", [(b'{"dataframe_records": [{"a": Infinity}]}', JSON), (b'{"inputs": {"a": [1.0, -Infinity]}}', JSON),
                                        (b"a\n1\ninf\n", CSV)])
def test_a_request_with_inf_is_a_400_naming_the_column(body, media):
    "What the server reads (`trainpipe serve` parses every body with `parse_body`): refused before the model runs."
    with pytest.raises(BadRequest) as e: parse_body(body, media, [("a", "double")])
    assert e.value.status == 400 and "column 'a' takes numbers (double)" in e.value.message and "which is not a finite number" in e.value.message


# --- 3. columns of lists ----------------------------------------------------------------------------------------------

@fast
def test_a_parquet_column_of_lists_is_refused_naming_it_and_its_type(tmp_path):
    pd.DataFrame({"x": [1, 2, 3, 4], "tags": [[1], [2, 3], [], [4]], "y": ["a", "b", "a", "b"]}).to_parquet(tmp_path/"lists.parquet")
    data = DataConfig(source=str(tmp_path/"lists.parquet"), target="y", duplicates="drop")
    said = refusal(lambda: ingest(data))
    assert said == ("data column 'tags' holds values of type numpy.ndarray (first in row 1), which trainpipe cannot use as a feature; "
                    "leave the column out with data.columns, or store it as columns of numbers or text")
    assert ingest(replace(data, columns=["x"])).table.columns.tolist() == ["x", "y"]  # left out: fine


@fast
def test_a_json_lines_column_of_objects_is_refused(tmp_path):
    (tmp_path/"rows.jsonl").write_text("".join(json.dumps({"x": i, "meta": {"k": i}, "y": i % 2}) + "\n" for i in range(4)))
    assert "data column 'meta' holds values of type dict (first in row 1)" in refusal(lambda: ingest(DataConfig(source=str(tmp_path/"rows.jsonl"), target="y")))


# --- 4. a folder that is not a folder of texts ------------------------------------------------------------------------

@fast
def test_a_folder_of_other_files_is_refused_at_its_first_file(tmp_path):
    (tmp_path/"lake"/"2024").mkdir(parents=True)
    (tmp_path/"lake"/"2024"/"part-0.parquet").write_bytes(b"PAR1")
    said = refusal(lambda: read_source(tmp_path/"lake"))
    assert said == (f"data.source '{tmp_path/'lake'}' is a folder without labelled texts: '{tmp_path/'lake'/'2024'/'part-0.parquet'}' is not a "
                    f"text file (.txt, .text, .md or no extension), and it needs one sub-folder per label, each holding text files "
                    f"({tmp_path/'lake'}/<label>/*.txt)")


@fast
def test_a_file_at_the_top_of_a_text_folder_is_refused(tmp_path):
    for label in ("pos", "neg"):
        (tmp_path/"reviews"/label).mkdir(parents=True)
        (tmp_path/"reviews"/label/"1.txt").write_text(label)
    assert check_text_folder(str(tmp_path/"reviews")) == 2
    (tmp_path/"reviews"/"README.md").write_text("about these reviews")
    said = refusal(lambda: read_source(tmp_path/"reviews"))
    assert f"it has the file '{tmp_path/'reviews'/'README.md'}' at its top level" in said


@fast
def test_a_binary_file_with_a_text_files_name_is_refused_as_it_is_read(tmp_path):
    (tmp_path/"reviews"/"pos").mkdir(parents=True)
    (tmp_path/"reviews"/"pos"/"1.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "1.txt', which is not text (it has binary bytes)" in refusal(lambda: read_source(tmp_path/"reviews"))


# --- end to end: the command line -----------------------------------------------------------------------------------

def test_trainpipe_run_refuses_inf_with_exit_2_and_no_traceback(project, tmp_path, store):
    "The console script itself: the runner's check before any notebook runs, exit status 2, one line, no run folder."
    (tmp_path/"inf.csv").write_text("a,b,target\n1,0.5,x\n2,inf,y\n3,0.1,x\n4,0.2,y\n5,0.3,x\n6,0.4,y\n")
    proc = trainpipe("run", "configs/simple.yaml", "-p", f"data.source={tmp_path/'inf.csv'}", "--tracking-uri", store,
                     "--runs-dir", tmp_path/"runs", process=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("trainpipe: error: data column 'b' holds an infinite number in 1 row(s) (rows 2); fix the data, "
                                   "or set data.schema.b.infinite to missing to read inf and -inf as missing values")
    assert not (tmp_path/"runs").exists()


def test_trainpipe_predict_refuses_inf_and_reads_cp1252(tmp_path, store):
    "`trainpipe predict` on a model saved in MLflow's format: inf is a bad row, named; a cp1252 file scores."
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    X = pd.DataFrame({"island": ["Dréam", "Biscoe"] * 10, "mass": np.linspace(3000, 5000, 20)})
    pipe = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["island"]), (StandardScaler(), ["mass"]))
    model = make_pipeline(pipe, LogisticRegression()).fit(X, X.mass > 4000)
    from trainpipe.register import serving_requirements
    from trainpipe.store import skops_io
    skops_io()  # saved as the register stage saves: skops in first, the requirements given (MLflow would infer them in a new process)
    mlflow.sklearn.save_model(model, tmp_path/"model", signature=infer_signature(X, model.predict(X)), serialization_format="skops",
                              pip_requirements=serving_requirements())
    (tmp_path/"rows.csv").write_bytes("island,mass\nDréam,4100\nBiscoe,inf\n".encode("cp1252"))
    proc = trainpipe("predict", "--model", tmp_path/"model", "--input", tmp_path/"rows.csv", "--output", tmp_path/"out.csv", "--tracking-uri", store)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"trainpipe: error: {tmp_path/'rows.csv'}: column 'mass' takes finite numbers (double), and data row 2 "
                                   "(counting from 1) holds 'inf'; fix or drop those rows")
    assert not (tmp_path/"out.csv").exists()
    (tmp_path/"rows.csv").write_bytes("island,mass\nDréam,4100\nBiscoe,3000\n".encode("cp1252"))
    proc = trainpipe("predict", "--model", tmp_path/"model", "--input", tmp_path/"rows.csv", "--output", tmp_path/"out.csv", "--tracking-uri", store)
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(tmp_path/"out.csv").island.tolist() == ["Dréam", "Biscoe"]

"""Hostile configs, overrides and API keys: refused at once, in one sentence naming the key, before any notebook runs."""
import time

import pytest

from conftest import PROJECT, TRAINPIPE, call, server, trainpipe
from test_failures import no_runs_recorded
from trainpipe.config import Config, RegisterConfig, load_config
from trainpipe.core import TrainpipeError
from trainpipe.pipeline import check_config

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(  # 9**9 values in 0.5 kB
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
BOMB = "model:\n  params:\n" + "".join(f"    {line}\n" for line in LAUGHS.splitlines())  # where a free-form mapping takes it


def refused(*overrides, text: str | None = None, tmp_path=None) -> str:
    "The sentence `load_config` refuses a config (the default one, or `text` written to a file) with."
    path = None
    if text is not None: (path := tmp_path/"hostile.yaml").write_text(text)
    with pytest.raises(TrainpipeError) as e: load_config(path, list(overrides), project=PROJECT)
    return str(e.value)


@pytest.mark.fast
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    start = time.monotonic()
    sentence = refused(text=BOMB, tmp_path=tmp_path)
    assert time.monotonic() - start < 30  # against a hang, not a speed test (the shared machine is noisy): expanding it ran past 60 s
    assert sentence == (f"config file '{tmp_path/'hostile.yaml'}' expands through its aliases (*name) to more than 100,000 values; "
                        "write the values out, or use fewer aliases")
    flow = "[&a [" + ", ".join(["lol"] * 9) + "]" + "".join(f", &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)) + "]"
    assert refused(f"model.params.x={flow}").startswith("the value of override 'model.params.x' expands through its aliases")
    assert "refers to itself through an alias" in refused(text="model: {params: &p {x: *p}}\n", tmp_path=tmp_path)
    assert "nests deeper than 64 levels" in refused(f"model.params.x={'[' * 10000}{']' * 10000}")


@pytest.mark.fast
def test_names_and_params_over_mlflows_limits_are_refused_with_key_length_and_limit(tmp_path):
    from mlflow.store.model_registry.dbmodels.models import SqlRegisteredModel
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_EXPERIMENT_NAME_LENGTH, MAX_PARAM_VAL_LENGTH
    assert refused(text=f"experiment: {'x' * 1_000_000}\n", tmp_path=tmp_path) == (
        f"config key 'experiment' (an experiment name) is 1,000,000 characters long, over MLflow's limit of "
        f"{MAX_EXPERIMENT_NAME_LENGTH:,}; choose a shorter name")
    assert refused(f"monitor.experiment={'m' * (MAX_EXPERIMENT_NAME_LENGTH + 1)}").startswith("config key 'monitor.experiment'")
    width = SqlRegisteredModel.name.type.length
    assert f"'register.model_name' (a registered model's name) is {width + 1} characters long, over MLflow's limit of {width}" in \
        refused(f"register.model_name={'r' * (width + 1)}")
    assert f"(as a param's name) is {len('model.params.') + MAX_ENTITY_KEY_LENGTH} characters long, over MLflow's limit of {MAX_ENTITY_KEY_LENGTH}" in \
        refused(f"model.params.{'k' * MAX_ENTITY_KEY_LENGTH}=1")
    assert refused(f"data.query={'q' * (MAX_PARAM_VAL_LENGTH + 1)}").startswith(
        f"config key 'data.query' (as a param's value) is {MAX_PARAM_VAL_LENGTH + 1:,} characters long, over MLflow's limit of {MAX_PARAM_VAL_LENGTH:,}")
    load_config(None, [f"experiment={'x' * MAX_EXPERIMENT_NAME_LENGTH}"], project=PROJECT)  # at the limit: fine


def test_mlflow_itself_refuses_names_just_past_the_limits_the_check_reads(store):
    "The peer beside the check: a real MLflow store takes a name at each limit and refuses one a character longer."
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from trainpipe.config import mlflow_limits
    client, limits = MlflowClient(store), mlflow_limits()
    client.create_experiment("x" * limits["MAX_EXPERIMENT_NAME_LENGTH"])
    with pytest.raises(MlflowException, match="exceeds the maximum length"):
        client.create_experiment("y" * (limits["MAX_EXPERIMENT_NAME_LENGTH"] + 1))
    run = client.create_run("0").info.run_id
    client.log_param(run, "k" * limits["MAX_ENTITY_KEY_LENGTH"], 1)
    with pytest.raises(MlflowException):
        client.log_param(run, "j" * (limits["MAX_ENTITY_KEY_LENGTH"] + 1), 1)
    # a longer value MLflow does not refuse: it cuts it to the limit, with a warning; the check refuses it instead of losing its end
    client.log_param(run, "long", "q" * (limits["MAX_PARAM_VAL_LENGTH"] + 1))
    assert len(client.get_run(run).data.params["long"]) == limits["MAX_PARAM_VAL_LENGTH"]


@pytest.mark.fast
@pytest.mark.parametrize("override, sentence", [
    ("model.params.n_estimators=-5", "model.params.n_estimators must be an int in the range [1, inf) for RandomForestClassifier, got -5; "
                                     "fix it in the config or with -p model.params.n_estimators=..."),
    ("model.params.max_depth=__import__('os').system('x')", "model.params.max_depth must be an int in the range [1, inf) or None for "
                                                            "RandomForestClassifier, got \"__import__('os').system('x')\"; fix it"),
    ("model.params.n_estimators=2001-12-14", "model.params.n_estimators must be an int in the range [1, inf) for RandomForestClassifier, "
                                             "got '2001-12-14'; fix it"),
    ("tune.space={model.params.max_depth: {int: [0, 8]}}", "config key 'tune.space.model.params.max_depth' can choose 0, but "
                                                           "model.params.max_depth must be an int in the range [1, inf) or None"),
])
def test_model_param_values_are_checked_before_any_notebook_runs(override, sentence):
    cfg = load_config(PROJECT/"configs/tune.yaml", [override], project=PROJECT)
    with pytest.raises(TrainpipeError) as e: check_config(cfg)
    assert str(e.value).startswith(sentence)


@pytest.mark.fast
def test_yaml_only_types_are_refused_and_dates_read_as_text(tmp_path):
    assert load_config(None, ["experiment=2024-06-01"], project=PROJECT).experiment == "2024-06-01"
    cfg = load_config(None, ["data.schema={year: {min: 2001-12-14}}"], project=PROJECT)
    assert cfg.data.schema["year"]["min"] == "2001-12-14"
    assert refused("split.random_state=2001-12-14") == "config key 'split.random_state' must be an integer, got '2001-12-14'"
    assert refused(text="model:\n  params:\n    when: !!timestamp 2001-12-14\n", tmp_path=tmp_path).startswith(
        "config key 'model.params.when' holds a date (datetime.date(2001, 12, 14)), which no config key takes")
    assert refused("model.params.x=!!set {a, b}").startswith("config key 'model.params.x' holds a set")
    assert refused(text="data:\n  rename: {a: !!binary aGk=}\n", tmp_path=tmp_path).startswith("config key 'data.rename.a' holds a bytes")


@pytest.mark.fast
def test_a_network_without_declared_constraints_still_passes_the_check():
    from trainpipe.models import make_model
    assert make_model("neural", "classification", {"epochs": 1, "module__hidden": [8]}).epochs == 1
    assert Config(register=RegisterConfig(model_name="penguins-species")).register.model_name  # the plain config is untouched


@pytest.mark.parametrize("args, sentence", [
    ([BOMB], "expands through its aliases (*name) to more than 100,000 values; write the values out, or use fewer aliases"),
    (["", "-p", "model.params.max_depth=__import__('os').system('touch PWNED')"], "model.params.max_depth must be an int in the range"),
])
def test_the_cli_refuses_them_in_one_sentence_and_runs_nothing(tmp_path, store, args, sentence):
    (config := tmp_path/"hostile.yaml").write_text(args[0])
    start = time.monotonic()
    proc = trainpipe("run", config, *args[1:], "--runs-dir", tmp_path/"runs", "--tracking-uri", store, cwd=tmp_path, process=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip()
    assert line.startswith("trainpipe: error: ") and "\n" not in line and sentence in line, line
    assert time.monotonic() - start < 60  # the bomb hung the run until it was killed at 60 s
    assert not (tmp_path/"runs").exists() and not (tmp_path/"PWNED").exists() and not (PROJECT/"PWNED").exists()
    assert no_runs_recorded(store)


def test_an_api_key_with_trailing_non_http_whitespace_is_refused(store):
    "A real server on loopback (its model need not load: /version is guarded and answers without one)."
    key = "s3cret-key"
    with server([str(TRAINPIPE), "serve", "--model", "models:/no-such-model/1", "--api-key-env", "HOSTILE_KEY"],
                {"MLFLOW_TRACKING_URI": store, "HOSTILE_KEY": key}, ready="/health") as (url, proc):
        version = f"{url}/version"
        assert call(version)[0] == 401
        for headers in ({"X-API-Key": key}, {"X-API-Key": f" {key}\t"}, {"Authorization": f"Bearer {key}"}, {"Authorization": f"bearer  {key} "}):
            assert call(version, headers=headers)[0] == 200, headers
        for tail in (b"\xa0", "\u2003".encode(), b"\x0b", b"\x0c"):  # raw bytes on the wire, as a client could send them
            for name, value in (("X-API-Key", key.encode() + tail), ("Authorization", b"Bearer " + key.encode() + tail)):
                status = call(version, headers={name: value})[0]
                assert status in (400, 401), (name, value, status)  # refused by us (401), or by the HTTP parser itself (400)
        assert call(version, headers={"X-API-Key": key.encode() + b"\xa0"})[0] == 401
        assert key not in proc.log()


@pytest.mark.fast
def test_column_names_mlflow_refuses_in_a_param_name_stay_inside_one_params_value():
    "A column called `Flipper (mm)` in data.rename or data.schema: the run logs them, as the mapping they are in, under a valid name."
    from mlflow.utils.validation import validate_param_and_metric_name
    from trainpipe.config import flatten
    raw = {"data": {"rename": {"Flipper (mm)": "flipper"}, "schema": {"Mass [g]": {"min": 0}}}}
    params = flatten(raw)
    assert params == {"data.rename": {"Flipper (mm)": "flipper"}, "data.schema": {"Mass [g]": {"min": 0}}}
    assert all(validate_param_and_metric_name(key) for key in params)

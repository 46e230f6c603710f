"""Refused before any notebook runs: coupled keys that disagree, and a config needing an extra that is not installed."""
import importlib.util

import pytest

from trainpipe.config import load_config
from trainpipe.core import TrainpipeError
from trainpipe.pipeline import check_config

from conftest import PROJECT

pytestmark = pytest.mark.fast  # in the fast tier (`make test-fast`): in-process, no pipeline run


def config(name, *overrides):
    return load_config(PROJECT/f"configs/{name}.yaml", list(overrides), project=PROJECT)


@pytest.mark.parametrize("name, features_key, value, param", [
    ("text_cnn", "max_features", 8000, "module__vocab_size"),
    ("digits", "image_shape", [4, 16], "module__shape"),
    ("text_transformer", "tokenizer", "bert-base-uncased", "module__pretrained")])
def test_a_networks_argument_follows_the_features_key_it_depends_on(name, features_key, value, param):
    "Changing the features key (by hand, in a sweep) changes the network with it: no vocabulary too small, no wrong shape."
    assert config(name).model.params[param] == getattr(config(name).features, features_key)
    assert config(name, f"features.{features_key}={value}").model.params[param] == value


@pytest.mark.parametrize("name, overrides, sentence", [
    ("text_cnn", ["features.max_features=8000", "model.params.module__vocab_size=3000"],
     "model.params.module__vocab_size (3000) differs from features.max_features (8000); leave module__vocab_size out and it "
     "follows features.max_features, or set both to the same value"),
    ("digits", ["model.params.module__shape=[28, 28]"],
     "model.params.module__shape ([28, 28]) differs from features.image_shape ([8, 8]); leave module__shape out and it "
     "follows features.image_shape, or set both to the same value"),
    ("text_transformer", ["model.params.module__pretrained=bert-base-uncased"],
     "model.params.module__pretrained ('bert-base-uncased') differs from features.tokenizer ('all-MiniLM-L6-v2'); leave "
     "module__pretrained out and it follows features.tokenizer, or set both to the same value")])
def test_coupled_keys_that_disagree_are_refused_in_one_sentence(name, overrides, sentence):
    with pytest.raises(TrainpipeError) as e: config(name, *overrides)
    assert str(e.value) == sentence


def test_the_cli_refuses_them_before_anything_runs(tmp_path):
    from conftest import trainpipe
    proc = trainpipe("run", "configs/text_cnn.yaml", "-p", "model.params.module__vocab_size=100", "--runs-dir", tmp_path/"runs",
                     "--tracking-uri", f"sqlite:///{tmp_path/'mlflow.db'}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("trainpipe: error: model.params.module__vocab_size (100) differs from features.max_features (3000)")
    assert not (tmp_path/"runs").exists()


@pytest.fixture
def core_only(monkeypatch):
    "This process as under `pip install -e .` with no extras: torch and transformers cannot be found."
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None if name.split(".")[0] in ("torch", "transformers") else find_spec(name, *a, **k))


@pytest.mark.parametrize("name", ["default", "regression", "simple", "tune"])
def test_the_core_install_passes_the_check_of_the_core_pipelines(core_only, name):
    check_config(config(name))


@pytest.mark.parametrize("name, sentence", [
    ("mlp", "model.name neural needs torch, which is not installed here; install it with pip install -e '.[torch]'"),
    ("digits", "model.name neural needs torch, which is not installed here; install it with pip install -e '.[torch]'"),
    ("text_transformer", "features.text transformer needs transformers and model.name neural needs torch, which are not "
                         "installed here; install them with pip install -e '.[torch,nlp]'")])
def test_a_config_needing_an_extra_is_refused_before_the_data_is_read(core_only, name, sentence):
    "The data source does not exist: the refusal names the extra, so it came first."
    with pytest.raises(TrainpipeError) as e: check_config(config(name, "data.source=no/such.csv"))
    assert str(e.value) == sentence


def test_only_the_missing_extra_is_named(monkeypatch):
    "With torch installed and transformers not, a transformer config names the nlp extra alone."
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None if name == "transformers" else find_spec(name, *a, **k))
    with pytest.raises(TrainpipeError) as e: check_config(config("text_transformer"), {"train"})
    assert str(e.value) == ("model.params.module transformer needs transformers, which is not installed here; "
                            "install it with pip install -e '.[nlp]'")


def test_stages_from_the_cache_need_nothing(core_only):
    "Re-running a neural pipeline's data stage alone needs no torch: only the stages that run are checked."
    check_config(config("mlp"), {"data", "features"})

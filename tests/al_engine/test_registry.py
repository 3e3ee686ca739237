"""The registry, parameter schemas and parameter validation."""

from __future__ import annotations

import json

import pytest

import al_engine
from al_engine import STRATEGIES, get_strategy, validate_params

ISSUE_STRATEGIES = {
    "random", "least_confident", "margin", "entropy", "vote_entropy", "consensus_entropy",
    "max_disagreement", "bald", "coreset", "density_weighted", "typiclust", "badge",
    "expected_model_change", "hybrid",
}  # fmt: skip


def test_every_strategy_of_the_issue_is_registered():
    assert ISSUE_STRATEGIES <= set(STRATEGIES)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_info_is_complete_and_json_able(name):
    info = STRATEGIES[name]
    assert info.name == name and info.description
    assert info.needs <= {"probs", "committee_probs", "embeddings"}
    json.dumps(info.params)  # the UI builds forms from it
    for spec in info.params.values():
        assert spec["type"] in {"int", "float", "choice", "bool"} and spec["help"]
    assert validate_params(name, {}) == {k: v["default"] for k, v in info.params.items()}
    assert get_strategy(name).name == name


def test_cold_start_strategies_need_no_probabilities():
    for info in STRATEGIES.values():
        if info.cold_start:
            assert not info.needs & {"probs", "committee_probs"}, info.name
    assert {"random", "typiclust", "coreset"} <= {
        i.name for i in STRATEGIES.values() if i.cold_start
    }


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid strategies: .*margin") as err:
        get_strategy("smallest_margin")
    assert "hybrid" in str(err.value)
    with pytest.raises(ValueError, match="unknown strategy"):
        validate_params("nope", {})


def test_validate_params_fills_defaults_and_cleans_types():
    assert validate_params("hybrid", {"candidates": 20.0}) == {
        "score": "margin",
        "candidates": 20,
        "diversity": "kcenter",
    }
    assert validate_params("density_weighted", {"beta": 2})["beta"] == 2.0


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("hybrid", {"candidates": 0}, "hybrid.candidates must be >= 1"),
        ("hybrid", {"candidates": 2.5}, "hybrid.candidates must be a whole number"),
        ("hybrid", {"candidates": "10"}, "hybrid.candidates must be a number"),
        ("hybrid", {"candidates": True}, "hybrid.candidates must be a number"),
        ("hybrid", {"score": "maximal"}, "hybrid.score must be one of"),
        ("density_weighted", {"beta": float("nan")}, "density_weighted.beta must be finite"),
        ("expected_model_change", {"bias": 1}, "expected_model_change.bias must be true or false"),
        ("margin", {"beta": 1}, "unknown parameter 'beta'"),
        ("typiclust", {"neighbors": 10**9}, "typiclust.neighbors must be <= 1000"),
    ],
)
def test_bad_params_name_the_field(name, params, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        validate_params(name, params)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        get_strategy(name, **params)


def test_validate_params_rejects_non_mappings():
    with pytest.raises(ValueError, match="must be a mapping"):
        validate_params("margin", ["x"])


def test_errors_are_value_errors():
    assert issubclass(al_engine.EmptyPoolError, ValueError)
    assert issubclass(al_engine.PoolExhaustedError, ValueError)


def test_default_strategy():
    assert al_engine.default_strategy(batch_size=50, n_labeled=0) == "typiclust"
    assert al_engine.default_strategy(batch_size=50, n_labeled=10) == "hybrid"
    assert al_engine.default_strategy(batch_size=1, n_labeled=10) == "margin"

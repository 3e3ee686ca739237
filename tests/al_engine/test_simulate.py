"""The simulation lab equals an independent re-implementation of the loop (random on digits)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from al_engine.simulate import main, simulate


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y


def reference_random_curve(x, y, seed, initial, batch, budget, holdout=0.2):
    """The loop written from the protocol in al_engine.simulate's docstring, with scikit-learn."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    h = round(holdout * len(x))
    hold, train = np.sort(perm[:h]), np.sort(perm[h:])
    labeled = np.zeros(len(train), bool)
    labeled[
        np.random.default_rng([seed, 0]).choice(np.arange(len(train)), initial, replace=False)
    ] = True
    accs, r = [], 0
    while True:
        xs, ys = x[train][labeled], y[train][labeled]
        scaler = StandardScaler().fit(xs)
        clf = LogisticRegression(C=1.0, max_iter=5000, tol=1e-8).fit(scaler.transform(xs), ys)
        accs.append((clf.predict(scaler.transform(x[hold])) == y[hold]).mean())
        if labeled.sum() >= budget:
            return np.asarray(accs)
        r += 1
        b = min(batch, budget - labeled.sum())
        pool = np.flatnonzero(~labeled)
        labeled[np.random.default_rng([seed, r]).choice(pool, size=b, replace=False)] = True


def test_random_curve_matches_the_reference(digits):
    x, y = digits
    res = simulate(x, y, strategies=["random"], budget=60, seeds=2, initial=20, batch_size=10)
    assert res.n_labels == [20, 30, 40, 50, 60]
    for seed in range(2):
        ref = reference_random_curve(x, y, seed, 20, 10, 60)
        got = res.curves["random"][seed]
        assert np.abs(got - ref).max() <= 0.006, (got, ref)  # at most 2 of 359 holdout rows


def test_result_dict_and_target(digits):
    x, y = digits
    res = simulate(x, y, strategies=["random", "margin"], budget=40, seeds=2, initial=10,
                   batch_size=15, target=0.5)  # fmt: skip
    d = res.to_dict()
    json.dumps(d)
    assert set(d["strategies"]) == {"random", "margin"}
    entry = d["strategies"]["margin"]
    assert entry["n_labels"] == [10, 25, 40]
    assert len(entry["mean"]) == len(entry["std"]) == 3
    mean = np.asarray(entry["mean"])
    hit = np.flatnonzero(mean >= 0.5)
    assert entry["labels_to_target"] == (entry["n_labels"][hit[0]] if hit.size else None)
    assert d["params"]["seeds"] == 2 and d["params"]["holdout_rows"] == 359


def test_committee_strategy_and_given_holdout_and_progress(digits):
    x, y = digits
    calls = []
    res = simulate(x[:1000], y[:1000], strategies=["bald"], budget=30, seeds=1, batch_size=10,
                   holdout=(x[1000:], y[1000:]), on_progress=lambda *a: calls.append(a))  # fmt: skip
    assert calls == [(1, 1, "bald", 0)]
    assert res.params["holdout_rows"] == 797
    assert res.curves["bald"].shape == (1, 3)


def test_progress_callback_can_stop_the_run(digits):
    x, y = digits

    def stop(*_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(x, y, strategies=["random"], budget=20, seeds=3, on_progress=stop)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategies": ["nope"]}, "valid strategies"),
        ({"strategies": []}, "at least one"),
        ({"budget": 5000}, "exceeds"),
        ({"initial": 50, "budget": 40}, "must not exceed"),
        ({"holdout": 1.5}, "holdout"),
        ({"classifier": "svm"}, "classifier"),
        ({"seeds": 0}, "seeds must be"),
    ],
)
def test_bad_arguments(digits, kwargs, message):
    x, y = digits
    args = {"strategies": ["random"], "budget": 40} | kwargs
    with pytest.raises(ValueError, match=message):
        simulate(x, y, **args)


def test_cli_writes_json_and_png(tmp_path, digits, capsys):
    x, y = digits
    np.save(tmp_path / "x.npy", x[:600])
    np.save(tmp_path / "y.npy", y[:600])
    code = main(["--features", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--strategies", "random,entropy,hybrid,typiclust", "--budget", "30", "--seeds", "2",
                 "--out", str(tmp_path / "out"), "--target", "0.6"])  # fmt: skip
    assert code == 0
    data = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert set(data["strategies"]) == {"random", "entropy", "hybrid", "typiclust"}
    png = (tmp_path / "out" / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "wrote" in capsys.readouterr().out
    assert main(["--features", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--strategies", "bogus", "--budget", "30"]) == 2  # fmt: skip

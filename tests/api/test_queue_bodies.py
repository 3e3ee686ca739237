"""get-next and submit read well-formed bodies without DRF's serializers: whatever the
body, the answer (validated data, or the serializer's 400 with its messages) is the
serializer's."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from labeling.api.queue import MAX_ID, NextInSerializer, SubmitInSerializer, next_in, submit_in


def plain(value):
    """Validated data as plain dicts and lists (DRF may return OrderedDicts)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def outcome(read, data):
    try:
        return "ok", plain(read(data))
    except ValidationError as exc:
        return "error", plain(exc.detail)


def by_serializer(serializer_class):
    def read(data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    return read


edge_ints = st.sampled_from(
    [-1, 0, 1, 5, 100, 101, 32767, 32768, 86_400_000, 86_400_001, MAX_ID, MAX_ID + 1, 2**70]
)
numbers = st.one_of(
    edge_ints,
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.sampled_from(["5", " 5", "5.0", "x", "", "1e3"]),
)
keys = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["", " ", "k", " k", "k ", "a\x00b", "\ud800", "\u00a0k", "é" * 64, "x" * 65]),
    st.none(),
    st.integers(),
)


def maybe(strategy):
    return st.one_of(st.just("<absent>"), strategy)


@st.composite
def submit_items(draw):
    item = {}
    for name, values in (
        ("sample_id", numbers),
        ("label", numbers),
        ("time_spent_ms", numbers),
        ("idempotency_key", keys),
        ("other", numbers),
    ):
        value = draw(maybe(values))
        if value != "<absent>":
            item[name] = value
    return item


good_item = st.fixed_dictionaries(
    {"sample_id": st.integers(1, MAX_ID), "label": st.integers(0, 32767)},
    optional={
        "time_spent_ms": st.integers(0, 86_400_000),
        "idempotency_key": st.text(min_size=1, max_size=64),
    },
)


@st.composite
def near_good_items(draw):
    """A valid item with one field changed to an edge value (or dropped)."""
    item = draw(good_item)
    name = draw(st.sampled_from(["sample_id", "label", "time_spent_ms", "idempotency_key"]))
    value = draw(maybe(keys if name == "idempotency_key" else numbers))
    if value == "<absent>":
        item.pop(name, None)
    else:
        item[name] = value
    return item


submit_bodies = st.one_of(
    st.fixed_dictionaries(
        {"items": st.lists(st.one_of(good_item, near_good_items(), submit_items()), max_size=4)},
        optional={"x": numbers, "next": numbers},
    ),
    st.fixed_dictionaries(
        {"items": st.lists(good_item, min_size=1, max_size=2), "next": numbers},
    ),
    st.fixed_dictionaries({"items": st.lists(good_item, min_size=99, max_size=101)}),
    st.fixed_dictionaries({"items": st.one_of(numbers, keys, st.dictionaries(keys, numbers))}),
    st.lists(good_item, max_size=2),
    st.just({}),
    numbers,
)
next_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"count": numbers, "other": numbers}),
    st.lists(numbers, max_size=2),
    numbers,
    keys,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(submit_bodies)
def test_submit_bodies_read_as_the_serializer_reads_them(body):
    assert outcome(submit_in, body) == outcome(by_serializer(SubmitInSerializer), body)


@settings(max_examples=400)
@given(near_good_items())
def test_one_field_off_reads_as_the_serializer_reads_it(item):
    body = {"items": [item]}
    assert outcome(submit_in, body) == outcome(by_serializer(SubmitInSerializer), body)


@settings(max_examples=300)
@given(next_bodies)
def test_next_bodies_read_as_the_serializer_reads_them(body):
    assert outcome(next_in, body) == outcome(by_serializer(NextInSerializer), body)


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"sample_id": 3, "label": 1}]},
        {"items": [{"sample_id": MAX_ID, "label": 32767, "time_spent_ms": 86_400_000}]},
        {"items": [{"sample_id": 3, "label": 1, "time_spent_ms": 86_400_001}]},
        {"items": [{"sample_id": MAX_ID + 1, "label": 1}]},
        {"items": [{"sample_id": 3, "label": 32768}]},
        {"items": [{"sample_id": 3, "label": -1}]},
        {"items": [{"sample_id": 3, "label": 1, "time_spent_ms": -1}]},
        {"items": [{"sample_id": 3, "label": 1, "idempotency_key": "k" * 64}]},
        {"items": [{"sample_id": 3, "label": 1, "idempotency_key": " k"}]},
        {"items": [{"sample_id": 3, "label": 1, "idempotency_key": "a\x00b"}]},
        {"items": [{"sample_id": 3, "label": 1, "idempotency_key": "k" * 65}]},
        {"items": [{"sample_id": 3, "label": True}]},
        {"items": [{"sample_id": "3", "label": 1.0}]},
        {"items": [{"sample_id": 0, "label": -1}]},
        {"items": [{"sample_id": 3, "label": 1}] * 101},
        {"items": []},
        {"items": {"sample_id": 3}},
        [],
        {"items": [{"sample_id": 3, "label": 1}], "next": 0},
        {"items": [{"sample_id": 3, "label": 1}], "next": 100},
        {"items": [{"sample_id": 3, "label": 1}], "next": 101},
        {"items": [{"sample_id": 3, "label": 1}], "next": -1},
        {"items": [{"sample_id": 3, "label": 1}], "next": "1"},
        {"items": [{"sample_id": 3, "label": 1}], "next": None},
        {"items": [{"sample_id": 3, "label": 1}], "next": True},
    ],
)
def test_edge_submit_bodies(body):
    assert outcome(submit_in, body) == outcome(by_serializer(SubmitInSerializer), body)


@pytest.mark.parametrize(
    "body", [{}, {"count": 1}, {"count": 100}, {"count": 0}, {"count": 101}, {"count": "2"}]
)
def test_edge_next_bodies(body):
    assert outcome(next_in, body) == outcome(by_serializer(NextInSerializer), body)

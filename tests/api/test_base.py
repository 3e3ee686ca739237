"""The API's error answers: one readable line in ``detail``, the field errors beside it."""

from __future__ import annotations

from labeling.api.base import _first_problem


def test_first_problem_walks_nested_errors_to_the_first_message():
    assert _first_problem({"kind": ["not a choice"]}) == ("kind", "not a choice")
    assert _first_problem({"items": {0: {"label": ["too small"]}}}) == (
        "items[0].label",
        "too small",
    )
    assert _first_problem({"items": {"non_field_errors": ["empty"]}}) == ("items", "empty")
    assert _first_problem({"items": [{}, {"label": ["bad"]}]}) == ("items[1].label", "bad")
    assert _first_problem({"non_field_errors": ["whole body"]}) == ("", "whole body")
    assert _first_problem({}) is None


def test_a_bad_item_in_a_submission_is_named_without_python_reprs(api, world_a):
    client = api(world_a.annotator)
    url = f"/api/v1/projects/{world_a.project.pk}/queue/submit/"
    sample = world_a.samples[2].pk

    negative = client.post(
        url, {"items": [{"sample_id": sample, "label": -1}]}, format="json"
    ).json()
    assert negative["detail"] == (
        "items[0].label: Ensure this value is greater than or equal to 0."
    )
    assert negative["errors"] == {
        "items": {"0": {"label": ["Ensure this value is greater than or equal to 0."]}}
    }

    text = client.post(url, {"items": [{"sample_id": sample, "label": "x"}]}, format="json")
    assert text.status_code == 400
    assert text.json()["detail"] == "items[0].label: A valid integer is required."

    empty = client.post(url, {"items": []}, format="json").json()
    assert empty["detail"] == "items: This list may not be empty."
    for body in (negative, text.json(), empty):
        assert "ErrorDetail" not in body["detail"] and "{" not in body["detail"]

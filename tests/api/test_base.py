"""The API's error answers: one readable line in ``detail``, the field errors beside it."""

from __future__ import annotations

import pytest
from rest_framework import exceptions

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


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; indent=4",
        "application/json;q=0.5, text/html",
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/*",
        "image/png",
        "",
    ],
)
@pytest.mark.parametrize("query", ["", "format=json", "format=api", "format=csv", "page=2"])
@pytest.mark.parametrize("suffix", [None, "json"])
def test_content_negotiation_answers_as_drf(accept, query, suffix):
    from django.http import Http404
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from labeling.api.base import QuarryContentNegotiation

    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/projects/?{query}", **headers))
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]

    def answer(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
        except (Http404, exceptions.NotAcceptable) as exc:
            return type(exc)
        return type(renderer), media_type

    assert answer(QuarryContentNegotiation()) == answer(DefaultContentNegotiation())

"""The direct path on PostgreSQL outside a transaction, as a web worker runs it: a held
sample's label and the get-next after it are one statement, and the answer reads as the
DRF view's for the same kind of call."""

from __future__ import annotations

import pytest

from labeling.api import queue_direct
from labeling.models import Annotation, Reservation
from labeling.services import queue_sql
from tests.api.conftest import build_world, client_for

pytestmark = [pytest.mark.services]


@pytest.fixture
def world(transactional_db):
    return build_world("p")


def test_label_and_next_in_one_statement_answer_as_drf(world, monkeypatch):
    taken, statements = [], []
    answer, store = queue_direct._answer, queue_sql.label_store_held

    def recording(*args):
        response = answer(*args)
        taken.append(response is not None)
        return response

    def counting(**kwargs):
        statements.append(kwargs["sample_id"])
        return store(**kwargs)

    monkeypatch.setattr(queue_direct, "_answer", recording)
    monkeypatch.setattr(queue_sql, "label_store_held", counting)
    client = client_for(world.annotator)
    base = f"/api/v1/projects/{world.project.pk}/queue/"
    first, second = client.post(base + "next/", {"count": 2}, format="json").json()["items"]

    def submit(sample, key: str):
        body = {"items": [{"sample_id": sample["sample_id"], "label": 2, "idempotency_key": key}]}
        response = client.post(base + "submit/", {**body, "next": 2}, format="json")
        assert response.status_code == 200
        stored = Annotation.objects.get(idempotency_key=key)
        assert (stored.sample_id, stored.label) == (sample["sample_id"], 2)
        assert response.json()["results"] == [
            {
                "sample_id": sample["sample_id"],
                "ok": True,
                "annotation_id": stored.pk,
                "created": True,
                "replayed": False,
            }
        ]
        handed = [i["sample_id"] for i in response.json()["next"]["items"]]
        held = Reservation.objects.filter(user=world.annotator)
        assert sorted(handed) == sorted(held.values_list("item__sample_id", flat=True))
        assert handed and sample["sample_id"] not in handed
        return response

    direct = submit(first, "direct")
    with monkeypatch.context() as patch:
        patch.setattr(queue_direct, "_answer", lambda *args: None)
        through_drf = submit(second, "drf")

    assert taken == [True, True]
    assert statements == [first["sample_id"], second["sample_id"]]
    assert {k: v for k, v in direct.headers.items() if k != "Content-Length"} == {
        k: v for k, v in through_drf.headers.items() if k != "Content-Length"
    }

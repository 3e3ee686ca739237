"""The queue's JSON endpoints again on the real PostgreSQL server, where get-next reads
the payloads with the items it hands out (one statement) and a held sample's submit,
with the next sample it asks for, is one statement."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tests.ui.test_queue_api import *  # noqa: F403  (collected again under this marker)
from tests.ui.test_queue_api import post, url

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.mark.django_db(transaction=True)  # as a web request runs: outside a transaction
def test_a_label_with_a_token_costs_two_statements(project, annotator, queued):
    """Who asks and the project (one), the label and the next sample with what the view
    shows of it (one): one request per label, as the label view sends it."""
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    with CaptureQueriesContext(connection) as opened:
        first = post(client, project, "next", {"count": 1}).json()["items"][0]
    assert len(opened) == 2, [q["sql"] for q in opened]
    body = {"items": [{"sample_id": first["sample_id"], "label": 1}], "next": 1}
    with CaptureQueriesContext(connection) as labeled:
        answer = client.post(url(project, "submit"), body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert len(labeled) == 2, [q["sql"] for q in labeled]
    handed = answer.json()["next"]["items"]
    assert [i["sample_id"] for i in handed] == [queued[1].pk]
    assert handed[0]["width"] == queued[1].width and handed[0]["suggestion"] is None

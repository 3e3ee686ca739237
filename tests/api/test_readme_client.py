"""The README's Python client example, run as written against a live server.

The example is the first thing an API user copies. It is taken from README.md as it
stands, with only the server's address changed, and run with ``requests`` against the
test server: log in, create a project, upload a zip, configure the loop, start a round
with pretraining, label what the queue hands out and export the labels as CSV. The job
runs in the server's process as soon as it is queued (a worker would take it from the
broker), so the queue is full when the example asks for items.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from labeling.models import Annotation, Job, Project
from tests.factories import UserFactory
from tests.workers.images import class_image, png
from workers.runner import run_job

README = Path(__file__).resolve().parents[2] / "README.md"
ADDRESS = '"http://127.0.0.1:8000/api/v1"'


def readme_client() -> str:
    """The Python block of the README's REST API section."""
    section = README.read_text().split("### The REST API", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert found, "README.md's REST API section has no Python example"
    return found.group(1)


def scans_zip(path: Path, n: int = 24) -> None:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(n):
            archive.writestr(f"scan-{i:03d}.png", png(class_image(i % 2, rng, size=16)))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_readme_client_example_runs_as_written(live_server, monkeypatch, tmp_path):
    code = readme_client()
    assert code.count(ADDRESS) == 1, f"the example's server address is no longer {ADDRESS}"
    code = code.replace(ADDRESS, repr(f"{live_server.url}/api/v1"))
    UserFactory(username="engineer", password="quarry-engineer")
    monkeypatch.setattr("labeling.services.jobs._enqueue", run_job)
    monkeypatch.chdir(tmp_path)
    scans_zip(tmp_path / "scans.zip")

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_client"})

    project = Project.objects.get(name="Scans")
    assert project.classes == ["benign", "malignant"]
    assert project.loop_config.strategy == "hybrid"
    assert project.loop_config.batch_size == 20
    job = Job.objects.get(project=project)
    # a round with pretraining first: one job, pretrain -> embed -> round
    assert (job.kind, job.state, job.params["round"]) == ("pretrain", "succeeded", True)
    lines = printed.getvalue().splitlines()
    assert "24" in lines[0] and "imported" in lines[0], lines
    assert lines[1] == "1.0"  # the round had run when the example read its progress

    labels = Annotation.objects.filter(sample__project=project)
    assert labels.count() == 5
    assert {a.label for a in labels} == {0}
    assert {a.idempotency_key for a in labels} == {f"k-{a.sample_id}" for a in labels}
    with open(tmp_path / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == project.samples.count() == 24
    labeled = [row for row in rows if row["label"]]
    assert len(labeled) == 5 and {row["label"] for row in labeled} == {"benign"}
    assert {int(row["sample_id"]) for row in labeled} == {a.sample_id for a in labels}

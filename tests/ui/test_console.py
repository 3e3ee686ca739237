"""The engineer's console: loop configuration, import with its report, jobs."""

from __future__ import annotations

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling.models import Job, LoopConfig, Sample
from tests.factories import SampleFactory, png_bytes


def test_configure_form_is_generated_from_strategy_schemas(login, project, engineer):
    body = login(engineer).get(reverse("ui:configure", args=[project.pk])).content.decode()
    import al_engine

    for name, info in al_engine.STRATEGIES.items():
        assert f'data-strategy="{name}"' in body
        for param in info.params:
            assert f'name="sp-{name}-{param}"' in body
    assert 'name="batch_size"' in body and 'name="label_budget"' in body
    assert 'name="overlap"' in body and 'name="schedule_kind"' in body


def _config_post(**overrides):
    data = {
        "strategy": "max_disagreement",
        "sp-max_disagreement-reduce": "mean",
        "classifier": "mlp",
        "batch_size": "32",
        "retrain_every": "50",
        "overlap": "2",
        "reservation_seconds": "900",
        "committee_size": "4",
        "ssl_epochs": "5",
        "ssl_batch_size": "64",
        "label_budget": "500",
        "target_accuracy": "0.9",
        "schedule_kind": "none",
    }
    data.update(overrides)
    return data


def test_configure_saves_through_the_loop_config_service(login, project, engineer):
    response = login(engineer).post(reverse("ui:configure", args=[project.pk]), _config_post())
    assert response.status_code == 302
    config = LoopConfig.objects.get(project=project)
    assert config.strategy == "max_disagreement" and config.strategy_params == {"reduce": "mean"}
    assert (config.batch_size, config.overlap, config.classifier) == (32, 2, "mlp")
    project.refresh_from_db()
    assert project.label_budget == 500 and project.target_accuracy == 0.9


def test_configure_shows_errors_and_saves_nothing(login, project, engineer):
    response = login(engineer).post(
        reverse("ui:configure", args=[project.pk]),
        _config_post(**{"sp-max_disagreement-reduce": "<b>median</b>", "batch_size": "abc"}),
    )
    body = response.content.decode()
    assert response.status_code == 200 and "is not a number" in body
    response = login(engineer).post(
        reverse("ui:configure", args=[project.pk]),
        _config_post(**{"sp-max_disagreement-reduce": "<b>median</b>"}),
    )
    body = response.content.decode()
    assert "strategy_params" in body and "<b>median</b>" not in body
    assert LoopConfig.objects.get(project=project).strategy != "max_disagreement"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_import_upload_shows_the_per_file_report(login, project, engineer):
    data = _zip(
        {
            "cat/a.png": png_bytes((8, 8), (10, 20, 30)),
            "dog/b.png": png_bytes((8, 8), (40, 50, 60)),
            "dog/c.png": png_bytes((8, 8), (10, 20, 30)),
            "dog/<script>.png": b"this is text, not an image",
        }
    )
    response = login(engineer).post(
        reverse("ui:import", args=[project.pk]),
        {
            "archive": SimpleUploadedFile("pets.zip", data),
            "labels_as": "oracle",
            "holdout": "0",
            "seed": "0",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="import-report"' in body
    assert "<b>2</b> imported" in body
    assert "&lt;script&gt;.png" in body and "<script>.png" not in body
    assert Sample.objects.filter(project=project).count() == 2


def test_upload_over_the_cap_is_refused_and_imports_nothing(login, project, engineer, settings):
    settings.QUARRY_MAX_UPLOAD_BYTES = 10_000
    data = _zip({f"cat/{i}.png": png_bytes((64, 64), (i, 2 * i, 3 * i)) for i in range(60)})
    assert len(data) > 10_000
    response = login(engineer).post(
        reverse("ui:import", args=[project.pk]),
        {"archive": SimpleUploadedFile("pets.zip", data), "labels_as": "none", "holdout": "0"},
    )
    body = response.content.decode()
    assert response.status_code == 413
    assert "Import refused" in body and "the limit is 10000 bytes" in body
    assert not Sample.objects.filter(project=project).exists()


def test_server_folder_import_is_for_administrators(login, project, engineer, tmp_path):
    response = login(engineer).post(
        reverse("ui:import", args=[project.pk]),
        {"server_path": str(tmp_path), "labels_as": "none", "holdout": "0", "seed": "0"},
    )
    assert "Only administrators" in response.content.decode()
    engineer.is_staff = True
    engineer.save()
    (tmp_path / "x.png").write_bytes(png_bytes((8, 8), (1, 2, 3)))
    response = login(engineer).post(
        reverse("ui:import", args=[project.pk]),
        {"server_path": str(tmp_path), "labels_as": "none", "holdout": "0", "seed": "0"},
    )
    assert 'id="import-report"' in response.content.decode()
    assert Sample.objects.filter(project=project).count() == 1


def test_import_needs_one_source(login, project, engineer):
    response = login(engineer).post(
        reverse("ui:import", args=[project.pk]), {"labels_as": "none", "holdout": "0", "seed": "0"}
    )
    assert "Upload a file or give a server path" in response.content.decode()


def test_jobs_start_list_poll_and_cancel(login, project, engineer):
    client = login(engineer)
    response = client.post(reverse("ui:job-start", args=[project.pk, "round"]), follow=True)
    assert "has no images yet" in response.content.decode()
    assert not Job.objects.exists()
    SampleFactory.create_batch(3, project=project)
    client.post(reverse("ui:job-start", args=[project.pk, "round"]))
    job = Job.objects.get()
    assert job.kind == Job.Kind.ROUND and job.requested_by == engineer
    response = client.post(reverse("ui:job-start", args=[project.pk, "pretrain"]), follow=True)
    assert "busy" in response.content.decode()
    data = client.get(reverse("ui:jobs-json", args=[project.pk])).json()
    assert data["jobs"][0]["id"] == job.pk and data["jobs"][0]["active"] is True
    assert (
        f'data-job="{job.pk}"' in client.get(reverse("ui:jobs", args=[project.pk])).content.decode()
    )
    client.post(reverse("ui:job-cancel", args=[project.pk, job.pk]))
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED


def test_simulation_form_errors_are_shown(login, project, engineer):
    SampleFactory.create_batch(3, project=project)
    response = login(engineer).post(
        reverse("ui:job-start", args=[project.pk, "simulate"]),
        {"strategies": ["random", "entropy"], "budget": "50", "seeds": "2"},
        follow=True,
    )
    assert "oracle labels" in response.content.decode()
    assert not Job.objects.exists()


def test_annotators_cannot_start_or_poll_jobs(login, project, annotator):
    client = login(annotator)
    assert client.post(reverse("ui:job-start", args=[project.pk, "round"])).status_code == 403
    assert client.get(reverse("ui:jobs-json", args=[project.pk])).status_code == 403
    assert (
        client.post(reverse("ui:configure", args=[project.pk]), _config_post()).status_code == 403
    )

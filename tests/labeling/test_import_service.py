"""dataset_import on folders: what is stored, what is refused and why, labels, holdout,
and that a failed import leaves neither rows nor files behind."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.contrib.auth import get_user_model

from labeling.imports.entries import ImportRefused
from labeling.models import Annotation, Sample
from labeling.services import imports as imports_service
from labeling.services.imports import SEED_USERNAME, dataset_import
from tests.labeling.test_import_archive import files_under
from tests.labeling.test_import_images import exif_jpeg, jpeg, png, png_bomb

pytestmark = pytest.mark.django_db


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def class_folders(root, per_class: dict[str, int]):
    """``root/<class>/<i>.png`` with a distinct colour per image."""
    for c, (name, n) in enumerate(per_class.items()):
        for i in range(n):
            write(root / name / f"{i:03d}.png", png(color=(c * 40, i, 255 - i)))
    return root


def test_a_folder_is_stored_under_hash_names(tmp_path, settings, project):
    folder = class_folders(tmp_path / "in", {"cat": 2, "dog": 1})
    write(folder / "loose.jpg", jpeg())
    progress = []
    report = dataset_import(
        project=project, path=folder, on_progress=lambda done, total: progress.append((done, total))
    )
    assert (report.imported, report.duplicates, report.rejected) == (4, [], [])
    assert progress[-1] == (4, 4)
    for sample in Sample.objects.filter(project=project):
        stored = (settings.MEDIA_ROOT / sample.file.name).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == sample.sha256
        assert sample.file.name == f"samples/{project.pk}/{sample.sha256[:2]}/{sample.sha256}." + (
            "jpg" if sample.original_name.endswith(".jpg") else "png"
        )
        assert (sample.width, sample.height, sample.split) == (
            (16, 16) if sample.original_name.endswith(".jpg") else (8, 8)
        ) + ("pool",)
        assert sample.oracle_label is None and not sample.annotations.exists()
    assert Sample.objects.get(original_name="cat/001.png")
    assert not os.listdir(settings.MEDIA_ROOT / ".staging")


def test_every_bad_file_is_named_with_its_reason_and_the_rest_imported(tmp_path, settings, project):
    settings.QUARRY_IMPORT = {"max_image_bytes": 4000, "max_image_pixels": 10_000}
    folder = tmp_path / "in"
    good = write(folder / "cat" / "good.png", png(color=(1, 2, 3)))
    write(folder / "cat" / "same-as-good.png", good.read_bytes())
    write(folder / "dog" / "photo.jpg", exif_jpeg())
    write(folder / "dog" / "notes.png", b"this is a text file renamed to .png\n")
    write(folder / "dog" / "empty.png", b"")
    cut = jpeg((64, 64))
    write(folder / "dog" / "cut.jpg", cut[: len(cut) // 2])
    write(folder / "bomb.png", png_bomb())
    write(folder / "big-pixels.png", png((101, 100)))
    write(folder / "heavy.bmp", b"BM" + b"\0" * 5000)
    os.symlink("/etc/passwd", folder / "cat" / "link.png")
    write(folder / ".DS_Store", b"finder litter")

    report = dataset_import(project=project, path=folder)

    assert report.imported == 2
    assert report.duplicates == ["cat/same-as-good.png"]
    assert report.ignored == [".DS_Store"]
    reasons = dict(report.rejected)
    assert sorted(reasons) == sorted(
        [
            "big-pixels.png",
            "bomb.png",
            "cat/link.png",
            "dog/cut.jpg",
            "dog/empty.png",
            "dog/notes.png",
            "heavy.bmp",
        ]
    )
    assert reasons["dog/notes.png"].startswith("not an image")
    assert reasons["dog/empty.png"] == "empty file"
    assert reasons["dog/cut.jpg"].startswith("truncated image")
    assert reasons["bomb.png"].startswith("decompression bomb")
    assert reasons["big-pixels.png"].startswith("decompression bomb")
    assert "10100 pixels" in reasons["big-pixels.png"]
    assert reasons["heavy.bmp"].startswith("over the byte cap (5,002 bytes; the cap is 4,000)")
    assert reasons["cat/link.png"] == "symbolic link (not followed)"
    assert report.rejected_by_reason()["decompression bomb"] == 2
    assert len(files_under(settings.MEDIA_ROOT)) == 2


def test_duplicates_within_the_project_are_skipped(tmp_path, project):
    folder = class_folders(tmp_path / "in", {"cat": 3})
    assert dataset_import(project=project, path=folder).imported == 3
    write(folder / "cat" / "new.png", png(color=(99, 99, 99)))
    again = dataset_import(project=project, path=folder)
    assert again.imported == 1
    assert sorted(again.duplicates) == ["cat/000.png", "cat/001.png", "cat/002.png"]
    assert Sample.objects.filter(project=project).count() == 4


def test_seed_labels_become_annotations_by_the_system_user(tmp_path, project):
    project.classes = ["dog"]
    project.save()
    folder = class_folders(tmp_path / "in", {"cat": 2, "dog": 2, "bird": 1})
    write(folder / "unlabelled.png", png(color=(0, 0, 0)))
    report = dataset_import(project=project, path=folder, labels_as="seed")
    project.refresh_from_db()
    assert project.classes == ["dog", "bird", "cat"]
    assert report.classes_added == ["bird", "cat"]
    seed = get_user_model().objects.get(username=SEED_USERNAME)
    assert not seed.is_active and not seed.has_usable_password()
    labels = {
        a.sample.original_name: project.classes[a.label]
        for a in Annotation.objects.select_related("sample")
    }
    assert labels == {
        "cat/000.png": "cat",
        "cat/001.png": "cat",
        "dog/000.png": "dog",
        "dog/001.png": "dog",
        "bird/000.png": "bird",
    }
    assert set(Annotation.objects.values_list("annotator__username", flat=True)) == {SEED_USERNAME}
    assert not Sample.objects.filter(oracle_label__isnull=False).exists()


def test_oracle_labels_are_hidden_ground_truth_not_annotations(tmp_path, project):
    folder = class_folders(tmp_path / "in", {"bird": 2, "cat": 1})
    dataset_import(project=project, path=folder, labels_as="oracle")
    assert not Annotation.objects.exists()
    oracle = dict(Sample.objects.values_list("original_name", "oracle_label"))
    assert oracle == {
        "bird/000.png": project.classes.index("bird"),
        "bird/001.png": project.classes.index("bird"),
        "cat/000.png": project.classes.index("cat"),
    }


def test_holdout_is_stratified_and_reproducible(tmp_path, project):
    folder = class_folders(tmp_path / "in", {"cat": 20, "dog": 10, "bird": 5})

    def held(seed):
        Sample.objects.all().delete()
        report = dataset_import(
            project=project, path=folder, labels_as="oracle", holdout=0.2, seed=seed
        )
        names = set(Sample.objects.filter(split="holdout").values_list("original_name", flat=True))
        assert report.holdout == len(names)
        return names

    first = held(seed=1)
    per_class = {c: sum(n.startswith(c + "/") for n in first) for c in ("cat", "dog", "bird")}
    assert per_class == {"cat": 4, "dog": 2, "bird": 1}
    assert held(seed=1) == first
    assert held(seed=2) != first


def test_failure_while_inserting_leaves_no_rows_and_no_files(
    tmp_path, settings, project, monkeypatch
):
    folder = class_folders(tmp_path / "in", {"cat": 3, "dog": 3})

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports_service.Annotation.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError, match="database went away"):
        dataset_import(project=project, path=folder, labels_as="seed")
    assert not Sample.objects.exists() and not Annotation.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []
    project.refresh_from_db()
    assert project.classes == ["cat", "dog", "bird"]


def test_failure_while_reading_leaves_no_files(tmp_path, settings, project, monkeypatch):
    folder = class_folders(tmp_path / "in", {"cat": 300})
    calls = {"n": 0}
    take = imports_service._Stage.take

    def take_then_fail(self, group):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return take(self, group)

    monkeypatch.setattr(imports_service._Stage, "take", take_then_fail)
    with pytest.raises(KeyboardInterrupt):
        dataset_import(project=project, path=folder)
    assert not Sample.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_decoder_processes_give_the_same_result(tmp_path, project):
    folder = class_folders(tmp_path / "in", {"cat": 150, "dog": 150})
    write(folder / "dog" / "broken.png", b"not a png")
    report = dataset_import(project=project, path=folder, labels_as="oracle", workers=2)
    assert report.imported == 300
    assert report.rejected == [
        ("dog/broken.png", "not an image (unrecognised or unsupported format)")
    ]
    stored = Sample.objects.filter(project=project)
    assert stored.count() == 300 and stored.filter(oracle_label__isnull=True).count() == 0


def test_bad_arguments_are_refused_with_a_message(tmp_path, project):
    with pytest.raises(ValueError, match="labels_as must be one of none, seed, oracle"):
        dataset_import(project=project, path=tmp_path, labels_as="guess")
    with pytest.raises(ValueError, match=r"holdout must be a fraction in \[0, 1\)"):
        dataset_import(project=project, path=tmp_path, holdout=1.0)
    with pytest.raises(ImportRefused, match="no such file or folder"):
        dataset_import(project=project, path=tmp_path / "missing")

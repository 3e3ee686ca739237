"""``manage.py import_images``: the summary a new user reads, and its error messages."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Project, Sample
from tests.labeling.test_import_archive import make_zip
from tests.labeling.test_import_images import jpeg, png

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_images", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_summary_names_every_rejected_file_with_its_reason(tmp_path, project):
    archive = make_zip(
        tmp_path / "batch.zip",
        [
            ("cat/a.png", png(color=(1, 1, 1))),
            ("cat/b.png", png(color=(2, 2, 2))),
            ("dog/c.jpg", jpeg()),
            ("dog/c-again.jpg", jpeg()),
            ("../evil.png", png(color=(3, 3, 3))),
            ("dog/readme.png", b"plain text"),
            ("dog/cut.jpg", jpeg((64, 64))[:300]),
        ],
    )
    out = run(project.name, str(archive), "--labels-as", "oracle", "--holdout", "0.5")
    assert f"-> project {project.name!r}" in out
    assert "imported:   3 (1 in the holdout split)" in out
    assert "duplicates: 1" in out
    assert "rejected:   3" in out
    assert "  unsafe path: 1" in out and "  not an image: 1" in out
    assert "  ../evil.png: unsafe path (parent directory reference '..')" in out
    assert "  dog/readme.png: not an image (unrecognised or unsupported format)" in out
    assert "  dog/cut.jpg: truncated image" in out
    assert "duplicate files:\n  dog/c-again.jpg" in out
    assert Sample.objects.filter(project=project, oracle_label__isnull=False).count() == 3


def test_json_report(tmp_path, project):
    (tmp_path / "one.png").write_bytes(png())
    report = json.loads(run(project.name, str(tmp_path), "--json"))
    assert report["imported"] == 1 and report["rejected"] == []


def test_create_makes_the_project_and_its_classes(tmp_path, db):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.png").write_bytes(png())
    out = run("Brand new", str(tmp_path), "--create", "--labels-as", "seed")
    assert "new classes: cat" in out
    assert Project.objects.get(name="Brand new").classes == ["cat"]


def test_clear_errors(tmp_path, project):
    (tmp_path / "a.png").write_bytes(png())
    with pytest.raises(CommandError, match="No project named 'Nope' \\(use --create"):
        run("Nope", str(tmp_path))
    with pytest.raises(CommandError, match="missing: no such file or folder"):
        run(project.name, str(tmp_path / "missing"))
    with pytest.raises(CommandError, match=r"--holdout must be a fraction in \[0, 1\)"):
        run(project.name, str(tmp_path), "--holdout", "1.5")
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"nope")
    with pytest.raises(CommandError, match="not a readable zip archive"):
        run(project.name, str(not_zip))
    assert not Sample.objects.exists()


def warnings_of(*args) -> str:
    """What ``import_images`` wrote to stderr."""
    err = io.StringIO()
    call_command("import_images", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_create_with_owner_makes_a_project_its_owner_can_see(tmp_path, db):
    from labeling.models import Membership
    from tests.factories import UserFactory

    (tmp_path / "a.png").write_bytes(png())
    alice = UserFactory(username="alice")
    err = warnings_of("Owned", str(tmp_path), "--create", "--owner", "alice")
    project = Project.objects.get(name="Owned")
    assert Membership.objects.get(project=project).user == alice
    assert Membership.objects.get(project=project).role == Membership.Role.OWNER
    assert "without members" not in err

    # Without --owner the project has no members: the command says so and how to fix it.
    err = warnings_of("Nobody's", str(tmp_path / "a.png"), "--create")
    assert "created without members" in err and "--owner" in err

    with pytest.raises(CommandError, match="--owner: no account named 'bob'"):
        run("Bob's", str(tmp_path), "--create", "--owner", "bob")
    assert not Project.objects.filter(name="Bob's").exists()
    with pytest.raises(CommandError, match="--owner applies to a project this command creates"):
        run("Owned", str(tmp_path), "--owner", "alice")

    # An existing project keeps its members: --owner is not applied, and the command says so.
    bob = UserFactory(username="bob")
    err = warnings_of("Owned", str(tmp_path), "--create", "--owner", "bob")
    assert "exists already; --owner was not applied" in err
    assert not Membership.objects.filter(user=bob).exists()


def test_a_refused_import_does_not_leave_the_project_it_created(tmp_path, db):
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"nope")
    with pytest.raises(CommandError, match="not a readable zip archive"):
        run("Fresh", str(not_zip), "--create")
    assert not Project.objects.filter(name="Fresh").exists()

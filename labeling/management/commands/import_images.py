"""``manage.py import_images PROJECT PATH``: import a folder, a zip or one image."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labeling.models import Project
from labeling.services.imports import LABELS_AS, ImportRefused, dataset_import
from labeling.services.projects import project_create


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--holdout must be a number, not {value!r}") from None
    if not 0 <= number < 1:
        raise CommandError(f"--holdout must be a fraction in [0, 1), e.g. 0.1, not {value}")
    return number


class Command(BaseCommand):
    help = (
        "Import images from a folder, a .zip archive or a single image file into a project. "
        "Class sub-folders (the folder that directly holds an image) can carry labels."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="project name (or numeric id)")
        parser.add_argument("path", help="a folder, a .zip archive, or one image file")
        parser.add_argument(
            "--labels-as",
            choices=LABELS_AS,
            default="none",
            help="none: ignore class folders; seed: store them as annotations by the "
            "'quarry-seed' user; oracle: store them as hidden ground truth (default: none)",
        )
        parser.add_argument(
            "--holdout",
            type=str,
            default="0",
            help="fraction of each class folder put in the holdout split, e.g. 0.1",
        )
        parser.add_argument("--seed", type=int, default=0, help="random seed of the holdout split")
        parser.add_argument(
            "--create", action="store_true", help="create the project if it does not exist"
        )
        parser.add_argument(
            "--owner",
            metavar="USERNAME",
            help="with --create: the account that owns the new project (without an owner "
            "nobody sees it in the browser or the API until a membership is added)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="decoder processes (default: chosen from the size and the CPU count; 0 = none)",
        )
        parser.add_argument(
            "--json", action="store_true", help="print the report as JSON instead of text"
        )

    def _project(self, name: str, create: bool, owner=None) -> tuple[Project, bool]:
        """The project and whether this command created it."""
        project = Project.objects.filter(name=name).first()
        if project is None and name.isdigit():
            project = Project.objects.filter(pk=int(name)).first()
        if project is not None:
            return project, False
        if create:
            try:
                return project_create(name=name, owner=owner), True
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        known = list(Project.objects.values_list("name", flat=True)[:10])
        hint = (
            f" Existing projects: {', '.join(known)}." if known else " There are no projects yet."
        )
        raise CommandError(f"No project named {name!r} (use --create to make it).{hint}")

    def handle(self, *args, **options) -> None:
        path = Path(options["path"]).expanduser()
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
        holdout = _fraction(options["holdout"])
        owner = None
        if options["owner"] and not options["create"]:
            raise CommandError("--owner applies to a project this command creates: add --create")
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"--owner: no account named {options['owner']!r}")
        project, created = self._project(options["project"], options["create"], owner)
        if owner is not None and not created:
            self.stderr.write(
                f"note: project {project.name!r} exists already; --owner was not applied "
                "(memberships are changed on the project's page or in the admin)"
            )
        quiet = options["verbosity"] == 0 or options["json"]
        bar = tqdm(desc="importing", unit="img", disable=quiet, dynamic_ncols=True)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            report = dataset_import(
                project=project,
                path=path,
                labels_as=options["labels_as"],
                holdout=holdout,
                seed=options["seed"],
                on_progress=progress,
                workers=options["workers"],
            )
        except (ImportRefused, ValidationError) as exc:
            if created and not project.samples.exists():
                project.delete()  # nothing was stored: do not leave an empty project behind
            if isinstance(exc, ValidationError):
                raise CommandError("; ".join(exc.messages)) from None
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        if created and owner is None:
            self.stderr.write(
                f"note: project {project.name!r} was created without members, so nobody sees "
                "it in the browser or the API yet: add an owner in the admin (Memberships), "
                "or create it with --owner USERNAME"
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
            return
        self.stdout.write(f"{path} -> project {project.name!r}")
        limit = None if options["verbosity"] >= 2 else 20
        for line in report.summary_lines(max_duplicates=limit or len(report.duplicates)):
            self.stdout.write(line)

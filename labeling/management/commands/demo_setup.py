"""``manage.py demo_setup``: the "Digits demo" project, its two accounts, and its images.

Idempotent: run it again and it only makes sure the accounts, passwords and
memberships are as printed. The images are scikit-learn's bundled handwritten digits
(1,797 8x8 images) upscaled to 32x32 PNGs, imported with hidden oracle labels and a
10% holdout split; then the first round (pretraining included) is queued.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction

from labeling.digits import write_digits
from labeling.models import Job, Membership, Project, Sample
from labeling.services.imports import dataset_import
from labeling.services.loop import round_request
from labeling.services.loop_config import loop_config_update
from labeling.services.projects import membership_set, project_create

PROJECT_NAME = "Digits demo"
CLASSES = [str(digit) for digit in range(10)]
ACCOUNTS = {
    "engineer": ("quarry-engineer", Membership.Role.OWNER, True),
    "annotator": ("quarry-annotator", Membership.Role.ANNOTATOR, False),
}
# Small enough for a CPU: a few epochs of the small CNN, rounds of ten labels.
DEMO_LOOP = {"ssl_backbone": "cnn_small", "ssl_epochs": 3, "batch_size": 10, "retrain_every": 10}
IMAGE_SIZE = 32


class Command(BaseCommand):
    help = "Create the 'Digits demo' project with an engineer and an annotator (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-round", action="store_true", help="do not queue the first round")

    def handle(self, *args, **options) -> None:
        users = self._accounts()
        project = self._project(users["engineer"])
        for username, (_, role, _) in ACCOUNTS.items():
            membership_set(project=project, user=users[username], role=role)
        if Sample.objects.filter(project=project).exists():
            self.stdout.write(f"{PROJECT_NAME!r} has its images already")
        else:
            self._import(project)
        if not options["no_round"]:
            self._first_round(project, users["engineer"])

    def _accounts(self) -> dict:
        User = get_user_model()
        users = {}
        with transaction.atomic():
            for username, (password, _, admin) in ACCOUNTS.items():
                user, _ = User.objects.get_or_create(username=username)
                user.is_active = True
                user.is_staff = user.is_superuser = admin
                user.set_password(password)
                user.save()
                users[username] = user
        return users

    def _project(self, owner) -> Project:
        project = Project.objects.filter(name=PROJECT_NAME).first()
        if project is not None:
            return project
        project = project_create(
            name=PROJECT_NAME,
            classes=CLASSES,
            owner=owner,
            label_budget=500,
            target_accuracy=0.95,
        )
        self.stdout.write(f"created project {PROJECT_NAME!r}")
        return project

    def _import(self, project: Project) -> None:
        with tempfile.TemporaryDirectory(prefix="quarry-digits-") as folder:
            n = write_digits(Path(folder), size=IMAGE_SIZE)
            self.stdout.write(f"importing {n:,} digit images ({IMAGE_SIZE}x{IMAGE_SIZE} PNG)")
            report = dataset_import(
                project=project, path=folder, labels_as="oracle", holdout=0.1, seed=0
            )
        self.stdout.write(
            f"imported {report.imported:,} images ({report.holdout:,} in the holdout split, "
            f"{len(report.duplicates)} duplicates, {len(report.rejected)} rejected)"
        )

    def _first_round(self, project: Project, engineer) -> None:
        """Queue the first round (pretraining first) unless the project has one.

        A first round that was cancelled or failed is queued again; the loop settings are
        the demo's only the first time (the engineer may have changed them since)."""
        jobs = Job.objects.filter(project=project)
        active = jobs.filter(state__in=Job.ACTIVE_STATES).order_by("pk").first()
        if active is not None:
            self.stdout.write(f"the demo's {active.kind} job {active.pk} is {active.state}")
            return
        if jobs.filter(kind=Job.Kind.ROUND, state=Job.State.SUCCEEDED).exists():
            self.stdout.write("the first round has run already")
            return
        again = jobs.exists()
        if not again:
            self._demo_loop_config(project, engineer)
        try:
            job = round_request(project=project, user=engineer, pretrain=True)
        except (ValueError, ValidationError, PermissionDenied) as exc:
            self.stdout.write(f"could not queue the first round: {exc}")
            return
        self.stdout.write(
            f"queued the first round {'again ' if again else ''}(pretraining first): job {job.pk}"
        )

    def _demo_loop_config(self, project: Project, engineer) -> None:
        try:
            loop_config_update(project=project, user=engineer, data=dict(DEMO_LOOP))
        except ValidationError as exc:
            self.stdout.write(f"kept the default loop settings: {'; '.join(exc.messages)}")

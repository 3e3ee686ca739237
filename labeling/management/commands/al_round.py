"""python manage.py al_round PROJECT [--pretrain] [--wait | --here]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from labeling.services.jobs import JobConflictError
from labeling.services.loop import round_request


class Command(BaseCommand):
    help = (
        "Queue an active-learning round for a project (train, score, select, evaluate); "
        "with --pretrain, self-supervised pretraining and embedding first."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project name or id")
        parser.add_argument("--pretrain", action="store_true", help="pretrain and embed first")
        from workers.cli import add_follow_arguments

        add_follow_arguments(parser)

    def handle(self, *args, **options):
        from workers.cli import job_follow, project_get

        project = project_get(options["project"])
        try:
            job = round_request(project=project, pretrain=options["pretrain"])
        except (JobConflictError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"queued {job.kind} job {job.pk} for project {project.name!r}")
        if options["wait"] or options["here"]:
            job = job_follow(
                job, self.stdout.write, here=options["here"], timeout=options["timeout"]
            )
            for name, seconds in job.result.get("timings", {}).items():
                self.stdout.write(f"  {name:<10} {seconds:8.2f} s")
            for note in job.result.get("notes", []):
                self.stdout.write(f"  note: {note}")
            evaluation = job.result.get("evaluate")
            if evaluation:
                self.stdout.write(
                    f"  accuracy {evaluation['accuracy']:.3f} (macro-F1 "
                    f"{evaluation['macro_f1']:.3f}) with {evaluation['n_labels']} labels"
                )

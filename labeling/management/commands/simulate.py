"""python manage.py simulate PROJECT --strategies random,entropy,hybrid --budget 500 --seeds 5"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from labeling.services.loop import simulation_request


class Command(BaseCommand):
    help = (
        "Compare query strategies on a project's embeddings and oracle labels, as a "
        "background job; the curves are stored as a SimulationRun."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project name or id")
        parser.add_argument(
            "--strategies", default="random,entropy,hybrid", help="comma-separated names"
        )
        parser.add_argument("--budget", type=int, default=500, help="labels per run")
        parser.add_argument("--seeds", type=int, default=5, help="runs per strategy")
        from workers.cli import add_follow_arguments

        add_follow_arguments(parser)

    def handle(self, *args, **options):
        from labeling.models import SimulationRun
        from workers.cli import job_follow, project_get

        project = project_get(options["project"])
        strategies = [s.strip() for s in options["strategies"].split(",") if s.strip()]
        try:
            job = simulation_request(
                project=project,
                strategies=strategies,
                budget=options["budget"],
                seeds=options["seeds"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"queued simulation job {job.pk} for project {project.name!r}")
        if not (options["wait"] or options["here"]):
            return
        job = job_follow(job, self.stdout.write, here=options["here"], timeout=options["timeout"])
        run = SimulationRun.objects.get(pk=job.result["simulation"])
        self.stdout.write(f"simulation {run.pk}:")
        self.stdout.write(f"  {'strategy':<22}{'final accuracy':>16}{'labels to target':>18}")
        for name, curve in run.result["strategies"].items():
            final = f"{curve['mean'][-1]:.3f} ± {curve['std'][-1]:.3f}" if curve["mean"] else "-"
            target = curve.get("labels_to_target")
            self.stdout.write(f"  {name:<22}{final:>16}{target if target is not None else '-':>18}")

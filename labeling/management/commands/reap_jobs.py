"""python manage.py reap_jobs: requeue jobs whose worker stopped renewing its lease
(beat runs the same every minute)."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Requeue running jobs whose lease expired; fail those that used all their attempts."

    def handle(self, *args, **options):
        from workers.leases import jobs_reap

        outcome = jobs_reap()
        for what, ids in outcome.items():
            self.stdout.write(f"{what}: {', '.join(map(str, ids)) or 'none'}")

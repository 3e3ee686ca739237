"""Which projects a user sees, and in which role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from labeling.models import LoopConfig, Membership, Project
from labeling.selectors import sql

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ENGINEER)


def project_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).distinct().order_by("name")


# What the labeling calls read of a project and its loop; other fields load on access.
PROJECT = sql.Fields(
    Project,
    ("id", "name", "classes", "task", "label_budget", "target_accuracy", "status", "done_reason"),
)
LOOP = sql.Fields(
    LoopConfig, ("id", "project_id", "retrain_every", "overlap", "reservation_seconds")
)


def project_for_member(*, project_id: int, user_id: int) -> Project | None:
    """The project with the user's role (``member_role``) and its loop configuration,
    or None when the user does not belong to it. One fixed statement: every labeling
    call starts here."""
    if not 0 < project_id < 2**63:
        return None  # no row has such a key (and PostgreSQL would refuse the number)
    found = sql.fetch(
        f"""SELECT {PROJECT.select("p")}, m.role, {LOOP.select("c")}
        FROM {Project._meta.db_table} p
        JOIN {Membership._meta.db_table} m ON m.project_id = p.id AND m.user_id = %s
        LEFT JOIN {LoopConfig._meta.db_table} c ON c.project_id = p.id
        WHERE p.id = %s""",
        [user_id, project_id],
    )
    if not found:
        return None
    row = found[0]
    project = PROJECT.instance(row[: len(PROJECT)])
    project.member_id = user_id
    project.member_role = row[len(PROJECT)]
    if row[len(PROJECT) + 1] is not None:
        project.loop_config = LOOP.instance(row[len(PROJECT) + 1 :])
    return project


def membership_role(*, project: Project, user: AbstractBaseUser) -> str | None:
    """The user's role in the project, or None when they do not belong to it."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def user_can_manage(*, project: Project, user: AbstractBaseUser) -> bool:
    return membership_role(project=project, user=user) in MANAGER_ROLES

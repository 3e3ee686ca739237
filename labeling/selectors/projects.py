"""Which projects a user sees, and in which role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from labeling.models import LoopConfig, Membership, Project
from labeling.selectors import sql
from labeling.selectors.users import USER, User

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
    if not sql.is_key(project_id):
        return None
    found = sql.fetch(
        f"""SELECT {_MEMBER_PROJECT}
        FROM {Project._meta.db_table} p
        JOIN {Membership._meta.db_table} m ON m.project_id = p.id AND m.user_id = %s
        LEFT JOIN {LoopConfig._meta.db_table} c ON c.project_id = p.id
        WHERE p.id = %s""",
        [user_id, project_id],
    )
    return _member_project(found[0], user_id) if found else None


def member_by_token(*, key: str, project_id: int) -> tuple[User, Project | None] | None:
    """The API token's user and, as ``project_for_member`` gives it, the project when the
    user belongs to it (else None there); None for a key no token has or whose user is
    inactive (token authentication then refuses it, with its message). One fixed
    statement: a labeling call sent with a token needs no other to know who asks and
    in which role."""
    found = sql.fetch(
        f"""SELECT {USER.select("u")}, {_MEMBER_PROJECT}
        FROM {Token._meta.db_table} t
        JOIN {User._meta.db_table} u ON u.id = t.user_id
        LEFT JOIN {Membership._meta.db_table} m ON m.user_id = u.id AND m.project_id = %s
        LEFT JOIN {Project._meta.db_table} p ON p.id = m.project_id
        LEFT JOIN {LoopConfig._meta.db_table} c ON c.project_id = p.id
        WHERE t.key = %s""",
        [project_id if sql.is_key(project_id) else None, key],
    )
    if not found:
        return None
    row = found[0]
    user = USER.instance(row[: len(USER)])
    if not user.is_active:
        return None
    member = row[len(USER) :]
    return user, None if member[0] is None else _member_project(member, user.pk)


_MEMBER_PROJECT = f"{PROJECT.select('p')}, m.role, {LOOP.select('c')}"


def _member_project(row, user_id: int) -> Project:
    """A row of ``_MEMBER_PROJECT`` as the project with the member's role and loop."""
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

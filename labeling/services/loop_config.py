"""Configuring a project's active-learning loop, and the project's own settings.

Only names and parameters are stored. Strategy names and their parameters are checked
against ``al_engine``; SSL methods and backbones against ``ssl_pretrain``'s registries.
Both packages are imported when a value is checked, so reading a configuration never
loads torch.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from labeling.models import LoopConfig, Membership, Project
from labeling.selectors.progress import done_reason, latest_accuracy
from labeling.services.projects import project_classes_extend

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ENGINEER)

# Integer settings and their inclusive bounds.
INT_FIELDS: dict[str, tuple[int, int]] = {
    "batch_size": (1, 10_000),
    "ssl_epochs": (1, 10_000),
    "ssl_batch_size": (2, 65_536),
    "committee_size": (2, 50),
    "retrain_every": (0, 1_000_000),
    "overlap": (1, 20),
    "reservation_seconds": (30, 7 * 24 * 3600),
}
NAME_FIELDS = ("strategy", "cold_start_strategy", "ssl_method", "ssl_backbone", "classifier")
PROJECT_FIELDS = ("label_budget", "target_accuracy")
CLOSED_BY_HAND = "closed by hand"
SCHEDULE_FIELD = "schedule"
LOOP_FIELDS = (*NAME_FIELDS, "strategy_params", *INT_FIELDS, *PROJECT_FIELDS, SCHEDULE_FIELD)


def _require_manager(project: Project, user: AbstractBaseUser | None) -> None:
    if user is None or not user.is_authenticated:
        raise PermissionDenied("only a project owner or engineer may change its configuration")
    role = (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role not in MANAGER_ROLES:
        raise PermissionDenied("only a project owner or engineer may change its configuration")


def loop_config_get(*, project: Project) -> LoopConfig:
    """The project's loop configuration, created with the defaults if it has none."""
    config, _ = LoopConfig.objects.get_or_create(project=project)
    return config


def _int(field: str, value: Any) -> int:
    low, high = INT_FIELDS[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: [f"must be an integer, not {value!r}"[:200]]})
    if not low <= value <= high:
        raise ValidationError({field: [f"must be between {low} and {high}"]})
    return value


def _strategy(field: str, name: Any, *, cold_start: bool = False) -> str:
    import al_engine

    if not isinstance(name, str) or name not in al_engine.STRATEGIES:
        valid = ", ".join(sorted(al_engine.STRATEGIES))
        raise ValidationError({field: [f"unknown strategy {str(name)[:64]!r}; valid: {valid}"]})
    if cold_start and not al_engine.STRATEGIES[name].cold_start:
        usable = ", ".join(sorted(n for n, s in al_engine.STRATEGIES.items() if s.cold_start))
        raise ValidationError(
            {field: [f"{name!r} needs a trained model; cold-start strategies: {usable}"]}
        )
    return name


def _strategy_params(strategy: str, params: Any) -> dict:
    import al_engine

    if not isinstance(params, dict):
        raise ValidationError({"strategy_params": ["must be an object of parameter values"]})
    try:
        return al_engine.validate_params(strategy, params)
    except ValueError as exc:
        raise ValidationError({"strategy_params": [str(exc)]}) from exc


def _registry_name(field: str, value: Any) -> str:
    import ssl_pretrain

    registry = ssl_pretrain.METHODS if field == "ssl_method" else ssl_pretrain.BACKBONES
    if not isinstance(value, str) or value not in registry:
        what = "method" if field == "ssl_method" else "backbone"
        valid = ", ".join(sorted(registry))
        raise ValidationError({field: [f"unknown {what} {str(value)[:64]!r}; valid: {valid}"]})
    return value


def _project_value(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field == "label_budget":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**9:
            raise ValidationError({field: ["must be a positive integer or null"]})
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValidationError({field: ["must be a fraction in (0, 1] or null"]})
    return float(value)


def _schedule(project: Project, user, value: Any) -> None:
    from labeling.services.loop import schedule_set

    if value is None:
        value = {}
    if not isinstance(value, dict) or set(value) - {"cron", "every_minutes"}:
        raise ValidationError(
            {SCHEDULE_FIELD: ['must be {"cron": "m h dom mon dow"} or {"every_minutes": n}']}
        )
    try:
        schedule_set(
            project=project,
            user=user,
            cron=value.get("cron"),
            every_minutes=value.get("every_minutes"),
        )
    except ValidationError as exc:
        raise ValidationError({SCHEDULE_FIELD: exc.messages}) from exc
    except (ValueError, TypeError) as exc:
        raise ValidationError({SCHEDULE_FIELD: [str(exc)]}) from exc


def _reopen_if_no_longer_done(project: Project) -> None:
    """A project the loop closed (target reached, budget spent) opens again when a new
    target or budget no longer closes it; one closed by hand stays closed."""
    project.refresh_from_db(fields=["status", "done_reason"])
    if project.status != Project.Status.DONE or project.done_reason == CLOSED_BY_HAND:
        return
    if done_reason(project=project, accuracy=latest_accuracy(project=project)) is None:
        project.status, project.done_reason = Project.Status.ACTIVE, ""
        project.save(update_fields=["status", "done_reason"])


@transaction.atomic
def loop_config_update(
    *, project: Project, user: AbstractBaseUser | None, data: dict
) -> LoopConfig:
    """Validate and store loop settings; all or nothing.

    ``data`` may hold any of ``LOOP_FIELDS``. A new ``strategy`` without
    ``strategy_params`` starts from that strategy's defaults.
    """
    _require_manager(project, user)
    if not isinstance(data, dict):
        raise ValidationError("the configuration must be an object of settings")
    unknown = sorted(set(data) - set(LOOP_FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: [f"unknown setting; valid: {', '.join(LOOP_FIELDS)}"]})
    config = LoopConfig.objects.select_for_update().get(pk=loop_config_get(project=project).pk)
    changed: list[str] = []
    for field in INT_FIELDS:
        if field in data:
            setattr(config, field, _int(field, data[field]))
            changed.append(field)
    if "strategy" in data:
        config.strategy = _strategy("strategy", data["strategy"])
        changed.append("strategy")
    if "cold_start_strategy" in data:
        config.cold_start_strategy = _strategy(
            "cold_start_strategy", data["cold_start_strategy"], cold_start=True
        )
        changed.append("cold_start_strategy")
    if "strategy_params" in data or "strategy" in data:
        params = data.get("strategy_params", {})
        config.strategy_params = _strategy_params(config.strategy, params)
        changed.append("strategy_params")
    for field in ("ssl_method", "ssl_backbone"):
        if field in data:
            setattr(config, field, _registry_name(field, data[field]))
            changed.append(field)
    if "classifier" in data:
        if data["classifier"] not in LoopConfig.Classifier.values:
            valid = ", ".join(LoopConfig.Classifier.values)
            raise ValidationError({"classifier": [f"must be one of {valid}"]})
        config.classifier = data["classifier"]
        changed.append("classifier")
    project_changed = [f for f in PROJECT_FIELDS if f in data]
    for field in project_changed:
        setattr(project, field, _project_value(field, data[field]))
    if changed:
        config.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    if project_changed:
        project.save(update_fields=project_changed)
        _reopen_if_no_longer_done(project)
    if SCHEDULE_FIELD in data:
        _schedule(project, user, data[SCHEDULE_FIELD])
        config.refresh_from_db()
    return config


@transaction.atomic
def project_update(*, project: Project, user: AbstractBaseUser | None, data: dict) -> Project:
    """Rename a project, append classes, or mark it active again (managers only)."""
    _require_manager(project, user)
    unknown = sorted(set(data) - {"name", "classes", "status"})
    if unknown:
        raise ValidationError({unknown[0]: ["this setting cannot be changed here"]})
    project = Project.objects.select_for_update().get(pk=project.pk)
    fields: list[str] = []
    if "name" in data:
        name = data["name"].strip() if isinstance(data["name"], str) else ""
        if not name or len(name) > 200:
            raise ValidationError({"name": ["a project name is 1 to 200 characters"]})
        if Project.objects.filter(name=name).exclude(pk=project.pk).exists():
            raise ValidationError({"name": [f"a project named {name!r} exists already"]})
        project.name = name
        fields.append("name")
    if "status" in data:
        if data["status"] not in Project.Status.values:
            raise ValidationError(
                {"status": [f"must be one of {', '.join(Project.Status.values)}"]}
            )
        project.status = data["status"]
        project.done_reason = "" if project.status == Project.Status.ACTIVE else CLOSED_BY_HAND
        fields += ["status", "done_reason"]
    if fields:
        project.save(update_fields=fields)
    if "classes" in data:
        existing = list(project.classes)
        given = data["classes"]
        if not isinstance(given, list) or given[: len(existing)] != existing:
            raise ValidationError(
                {"classes": ["classes may only be appended: send the current list plus new names"]}
            )
        try:
            project.classes = project_classes_extend(project=project, names=given)
        except ValidationError as exc:
            raise ValidationError({"classes": exc.messages}) from exc
    return project


@transaction.atomic
def membership_remove(*, membership: Membership, user: AbstractBaseUser) -> None:
    """An owner removes someone from a project; the last owner cannot be removed."""
    project = Project.objects.select_for_update().get(pk=membership.project_id)
    if membership.role == Membership.Role.OWNER:
        owners = Membership.objects.filter(project=project, role=Membership.Role.OWNER).count()
        if owners <= 1:
            raise ValidationError("a project keeps at least one owner")
    membership.delete()


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot be demoted."""
    project = Project.objects.select_for_update().get(pk=membership.project_id)
    if role not in Membership.Role.values:
        raise ValidationError({"role": [f"must be one of {', '.join(Membership.Role.values)}"]})
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER:
        owners = Membership.objects.filter(project=project, role=Membership.Role.OWNER).count()
        if owners <= 1:
            raise ValidationError({"role": ["a project keeps at least one owner"]})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership

"""Creating projects and managing who belongs to them."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.models import LoopConfig, Membership, Project

MAX_CLASSES = 1000
MAX_CLASS_NAME = 100


def validate_class_names(classes: Sequence[str]) -> list[str]:
    """Stripped, non-empty, unique class names, in the order given."""
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        raise ValidationError("classes must be a list of names")
    cleaned: list[str] = []
    for name in classes:
        if not isinstance(name, str):
            raise ValidationError(f"class name {name!r} is not text")
        name = name.strip()
        if not name:
            raise ValidationError("class names cannot be empty")
        if len(name) > MAX_CLASS_NAME:
            raise ValidationError(f"class name {name[:20]!r}... is longer than {MAX_CLASS_NAME}")
        if name in cleaned:
            raise ValidationError(f"class name {name!r} appears twice")
        cleaned.append(name)
    if len(cleaned) > MAX_CLASSES:
        raise ValidationError(f"at most {MAX_CLASSES} classes")
    return cleaned


@transaction.atomic
def project_create(
    *,
    name: str,
    classes: Sequence[str] = (),
    owner: AbstractBaseUser | None = None,
    label_budget: int | None = None,
    target_accuracy: float | None = None,
) -> Project:
    name = (name or "").strip()
    if not name:
        raise ValidationError("a project needs a name")
    if Project.objects.filter(name=name).exists():
        raise ValidationError(f"a project named {name!r} exists already")
    if target_accuracy is not None and not 0 < target_accuracy <= 1:
        raise ValidationError("target accuracy is a fraction in (0, 1]")
    project = Project.objects.create(
        name=name,
        classes=validate_class_names(list(classes)),
        label_budget=label_budget,
        target_accuracy=target_accuracy,
        created_by=owner,
    )
    LoopConfig.objects.create(project=project)
    if owner is not None:
        Membership.objects.create(user=owner, project=project, role=Membership.Role.OWNER)
    return project


@transaction.atomic
def project_classes_extend(*, project: Project, names: Sequence[str]) -> list[str]:
    """Append new class names (existing ones are kept in place); returns the full list."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    new = [n for n in validate_class_names(list(names)) if n not in project.classes]
    if new:
        project.classes = validate_class_names([*project.classes, *new])
        project.save(update_fields=["classes"])
    return project.classes


def membership_set(*, project: Project, user: AbstractBaseUser, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError(f"role must be one of {', '.join(Membership.Role.values)}")
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership

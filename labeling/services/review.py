"""Adjudication: an owner or ML engineer settles the label of a sample annotators disagree on."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from labeling.models import Adjudication, Annotation, Membership, Project, Sample

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ENGINEER)


@transaction.atomic
def adjudication_set(
    *, project: Project, user: AbstractBaseUser, sample_id: int, label: int, note: str = ""
) -> Adjudication:
    """Record (or replace) the adjudicated label of a labeled sample of the project."""
    role = (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    if role not in MANAGER_ROLES:
        raise PermissionDenied("only a project owner or ML engineer may adjudicate")
    if isinstance(label, bool) or not isinstance(label, int):
        raise ValidationError({"label": ["must be a class index (an integer)"]})
    if not 0 <= label < len(project.classes):
        raise ValidationError(
            {
                "label": [
                    f"label {label} is not a class of this project (0..{len(project.classes) - 1})"
                ]
            }
        )
    sample = Sample.objects.filter(pk=sample_id, project=project).first()
    if sample is None:
        raise ValidationError({"sample_id": ["no such sample in this project"]})
    if not Annotation.objects.filter(sample=sample).exists():
        raise ValidationError({"sample_id": ["this sample has no labels to adjudicate"]})
    adjudication, _ = Adjudication.objects.update_or_create(
        sample=sample,
        defaults={"label": label, "adjudicator": user, "note": (note or "")[:2000]},
    )
    return adjudication

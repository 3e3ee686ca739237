"""Forms of the browser UI; they only validate shapes, services validate meaning."""

from __future__ import annotations

from django import forms

from labeling.models import Membership


class ProjectCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    classes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One class name per line (at least one).",
    )
    label_budget = forms.IntegerField(min_value=1, required=False)
    target_accuracy = forms.FloatField(min_value=0.01, max_value=1.0, required=False)

    def clean_classes(self) -> list[str]:
        names = [line.strip() for line in self.cleaned_data["classes"].splitlines()]
        names = [n for n in names if n]
        if not names:
            raise forms.ValidationError("Give at least one class name.")
        return names


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ClassesAddForm(forms.Form):
    names = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="New class names, one per line."
    )

    def clean_names(self) -> list[str]:
        names = [line.strip() for line in self.cleaned_data["names"].splitlines()]
        names = [n for n in names if n]
        if not names:
            raise forms.ValidationError("Give at least one class name.")
        return names


class ImportForm(forms.Form):
    LABELS_AS = [
        ("none", "No labels (class folders ignored)"),
        ("seed", "Seed labels (class folders become annotations)"),
        ("oracle", "Oracle labels (hidden ground truth for simulation and evaluation)"),
    ]
    archive = forms.FileField(required=False, help_text="A .zip of images, or one image.")
    server_path = forms.CharField(
        max_length=1000,
        required=False,
        help_text="Or a folder or .zip on the server (administrators only).",
    )
    labels_as = forms.ChoiceField(choices=LABELS_AS, initial="none")
    holdout = forms.FloatField(min_value=0.0, max_value=0.9, initial=0.0)
    seed = forms.IntegerField(min_value=0, initial=0)

    def clean(self):
        data = super().clean()
        if bool(data.get("archive")) == bool((data.get("server_path") or "").strip()):
            raise forms.ValidationError("Upload a file or give a server path (one of the two).")
        return data


class SimulationForm(forms.Form):
    strategies = forms.MultipleChoiceField(choices=[], widget=forms.CheckboxSelectMultiple)
    budget = forms.IntegerField(min_value=1, max_value=1_000_000, initial=200)
    seeds = forms.IntegerField(min_value=1, max_value=20, initial=3)

    def __init__(self, *args, strategy_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategies"].choices = [(n, n) for n in strategy_names]


class AdjudicateForm(forms.Form):
    sample_id = forms.IntegerField(min_value=1)
    label = forms.IntegerField(min_value=0)
    note = forms.CharField(max_length=2000, required=False)

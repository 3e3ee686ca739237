"""The loop configuration form, generated from ``al_engine.STRATEGIES`` parameter schemas.

Each strategy's parameters are inputs named ``sp-<strategy>-<param>``; only the chosen
strategy's inputs are read back. Values are typed here by the schema; their meaning is
checked by ``loop_config_update``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import QueryDict

from labeling.models import LoopConfig, Project

INT_FIELDS = [
    ("batch_size", "Batch size (samples per round)"),
    ("retrain_every", "Retrain every N new labels (0 = off)"),
    ("overlap", "Annotators per sample (overlap)"),
    ("reservation_seconds", "Reservation expiry (seconds)"),
    ("committee_size", "Committee size"),
    ("ssl_epochs", "Pretraining epochs"),
    ("ssl_batch_size", "Pretraining batch size"),
]


def _strategies() -> dict:
    try:
        import al_engine
    except ImportError:
        return {}
    return dict(al_engine.STRATEGIES)


def _registry(name: str) -> list[str]:
    try:
        import ssl_pretrain
    except ImportError:
        return []
    return sorted(getattr(ssl_pretrain, name, {}))


def _schedule_value(config: LoopConfig) -> dict:
    task = config.schedule
    if task is None:
        return {"kind": "none", "every_minutes": "", "cron": ""}
    if task.interval_id:
        minutes = task.interval.every
        if task.interval.period == "hours":
            minutes *= 60
        elif task.interval.period == "days":
            minutes *= 1440
        return {"kind": "every", "every_minutes": minutes, "cron": ""}
    if task.crontab_id:
        c = task.crontab
        cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
        return {"kind": "cron", "every_minutes": "", "cron": cron}
    return {"kind": "none", "every_minutes": "", "cron": ""}


def config_context(*, project: Project, config: LoopConfig, posted: QueryDict | None) -> dict:
    def value(name, current):
        if posted is not None and name in posted:
            return posted.get(name)
        return current

    chosen = value("strategy", config.strategy)
    strategies = []
    for name, info in sorted(_strategies().items()):
        params = []
        for pname, schema in info.params.items():
            current = schema.get("default")
            if name == config.strategy and pname in (config.strategy_params or {}):
                current = config.strategy_params[pname]
            input_name = f"sp-{name}-{pname}"
            if posted is not None and name == chosen:
                current = posted.get(input_name, current)
                if schema.get("type") == "bool":
                    current = input_name in posted
            params.append({"name": pname, "input": input_name, "value": current, **schema})
        strategies.append(
            {
                "name": name,
                "description": info.description,
                "cold_start": info.cold_start,
                "needs": sorted(info.needs),
                "params": params,
            }
        )
    return {
        "strategies": strategies,
        "chosen": chosen,
        "cold_start_choices": [s["name"] for s in strategies if s["cold_start"]],
        "cold_start": value("cold_start_strategy", config.cold_start_strategy),
        "ssl_methods": _registry("METHODS") or [config.ssl_method],
        "ssl_method": value("ssl_method", config.ssl_method),
        "ssl_backbones": _registry("BACKBONES") or [config.ssl_backbone],
        "ssl_backbone": value("ssl_backbone", config.ssl_backbone),
        "classifiers": LoopConfig.Classifier.choices,
        "classifier": value("classifier", config.classifier),
        "int_fields": [
            {"name": f, "label": label, "value": value(f, getattr(config, f))}
            for f, label in INT_FIELDS
        ],
        "label_budget": value("label_budget", project.label_budget or ""),
        "target_accuracy": value("target_accuracy", project.target_accuracy or ""),
        "schedule": _schedule_value(config)
        if posted is None
        else {
            "kind": posted.get("schedule_kind", "none"),
            "every_minutes": posted.get("every_minutes", ""),
            "cron": posted.get("cron", ""),
        },
        "engine_missing": not strategies,
    }


def _typed(field: str, raw: str, kind: str):
    raw = raw.strip()
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValidationError({field: [f"{raw[:40]!r} is not a number"]}) from exc
    return raw


def config_data_from_post(post: QueryDict, *, config: LoopConfig) -> dict:
    """The ``data`` for ``loop_config_update`` from the submitted form (the schedule only
    when it changed)."""
    strategy = post.get("strategy", "")
    data: dict = {"strategy": strategy}
    info = _strategies().get(strategy)
    params: dict = {}
    if info is not None:
        for pname, schema in info.params.items():
            input_name = f"sp-{strategy}-{pname}"
            if schema.get("type") == "bool":
                params[pname] = input_name in post
            elif post.get(input_name, "").strip() != "":
                params[pname] = _typed(pname, post[input_name], schema.get("type", "choice"))
    data["strategy_params"] = params
    for field in ("cold_start_strategy", "ssl_method", "ssl_backbone", "classifier"):
        if post.get(field):
            data[field] = post[field]
    for field, _label in INT_FIELDS:
        if post.get(field, "").strip() != "":
            data[field] = _typed(field, post[field], "int")
    budget = post.get("label_budget", "").strip()
    data["label_budget"] = _typed("label_budget", budget, "int") if budget else None
    target = post.get("target_accuracy", "").strip()
    data["target_accuracy"] = _typed("target_accuracy", target, "float") if target else None
    kind = post.get("schedule_kind", "none")
    if kind == "every":
        schedule = {"every_minutes": _typed("schedule", post.get("every_minutes", ""), "int")}
    elif kind == "cron":
        schedule = {"cron": post.get("cron", "").strip()}
    else:
        schedule = {}
    current = _schedule_value(config)
    before = {
        "none": {},
        "every": {"every_minutes": current["every_minutes"]},
        "cron": {"cron": current["cron"]},
    }[current["kind"]]
    if schedule != before:
        data["schedule"] = schedule
    return data

"""Importing images as a background job (a folder or .zip path on the server)."""

from __future__ import annotations

from workers.context import JobError, StepContext


def run(ctx: StepContext) -> dict:
    from labeling.services.imports import dataset_import

    params = ctx.params
    if not params.get("path"):
        raise JobError("an import job needs a 'path' (a folder or .zip file on the server)")

    def on_progress(done: int, total: int | None = None) -> None:
        ctx.progress(done / total if total else 0.0, f"imported {done} of {total or '?'} files")

    try:
        report = dataset_import(
            project=ctx.project,
            path=params["path"],
            labels_as=params.get("labels_as", "none"),
            holdout=float(params.get("holdout", 0.0)),
            seed=int(params.get("seed", 0)),
            on_progress=on_progress,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise JobError(str(exc)) from exc
    ctx.result["import"] = report.to_dict()
    return ctx.result["import"]

"""Self-supervised pretraining on every image of the project -> an EncoderVersion.

The training state is checkpointed every epoch under the job's folder; a later attempt
of the same job (after a crash or ``kill -9``) resumes from it.
"""

from __future__ import annotations

from labeling.models import EncoderVersion, Sample
from workers import config as knobs
from workers import files
from workers.context import JobError, StepContext
from workers.oom import with_batch_backoff
from workers.pool import image_size_for, images_load

# Contrastive methods need negatives in a batch: OOM halving stops here.
MIN_BATCH_SIZE = 8
# Job parameters that replace the project's pretraining settings for one job; the last
# four have no project setting and keep ssl_pretrain's defaults unless a job gives them.
OPTIONAL = ("lr", "schedule", "grayscale", "view_size")
OVERRIDABLE = ("method", "backbone", "epochs", "batch_size", "seed", "image_size", *OPTIONAL)


def run(ctx: StepContext) -> EncoderVersion:
    import ssl_pretrain

    job, project, loop = ctx.job, ctx.project, ctx.config
    done = EncoderVersion.objects.filter(project=project, job=job).first()
    if done is not None:
        ctx.note(f"encoder {done.pk} was saved by an earlier attempt of this job")
        ctx.cache["encoder_version"] = done
        return done
    given = {k: v for k, v in ctx.params.items() if k in OVERRIDABLE}
    backbone = given.get("backbone", loop.ssl_backbone)
    rows = list(Sample.objects.filter(project=project).order_by("pk").values_list("pk", "file"))
    if len(rows) < 2:
        raise JobError(
            f"project {project.name!r} has {len(rows)} image(s); pretraining needs at least 2"
        )
    size = image_size_for(project, backbone, given.get("image_size"))
    wanted = {
        "method": given.get("method", loop.ssl_method),
        "backbone": backbone,
        "epochs": int(given.get("epochs", loop.ssl_epochs)),
        "batch_size": int(given.get("batch_size", loop.ssl_batch_size)),
        "seed": int(given.get("seed", 0)),
        "image_size": size,
    }
    for key in OPTIONAL:
        if key in given:
            wanted[key] = given[key]
    try:
        ssl_pretrain.PretrainConfig(**wanted)
    except (TypeError, ValueError) as exc:
        raise JobError(f"pretraining settings are not valid: {exc}") from exc

    ctx.progress(0.0, f"loading {len(rows)} images at {size}x{size}", force=True)
    images = images_load([name for _, name in rows], size)
    folder = files.encoder_dir(project.pk, job.pk)
    checkpoint = folder / "checkpoint.pt"
    saved = files.earlier_checkpoint(checkpoint, "config")
    start_epoch = 0
    if saved is not None:
        # An earlier attempt may have halved the batch size: keep what it used.
        same = {k: v for k, v in saved["settings"].items() if k != "batch_size"}
        if all(same.get(k) == v for k, v in wanted.items() if k != "batch_size"):
            wanted["batch_size"] = int(saved["settings"]["batch_size"])
            start_epoch = saved["epoch"]
            ctx.note(f"resuming pretraining from the checkpoint of epoch {start_epoch}")
        else:
            checkpoint.unlink()
    device = knobs.device()
    epochs = wanted["epochs"]
    state = {"epoch": start_epoch}

    def on_progress(epoch: int, n_epochs: int, loss: float, img_per_s: float) -> None:
        state["epoch"] = epoch
        ctx.progress(
            epoch / n_epochs,
            f"pretraining epoch {epoch}/{n_epochs}: loss {loss:.4f}, {img_per_s:.0f} img/s",
            force=True,
        )

    def on_step(step: int, steps: int) -> None:
        ctx.progress(
            (state["epoch"] + step / steps) / epochs, f"pretraining epoch {state['epoch'] + 1}"
        )

    def attempt(batch_size: int):
        config = ssl_pretrain.PretrainConfig(**{**wanted, "batch_size": batch_size})
        current = files.earlier_checkpoint(checkpoint, "config")
        resume = current is not None and current["settings"] == config.to_dict()
        if current is not None and not resume:
            checkpoint.unlink()
        return ssl_pretrain.pretrain(
            config,
            images,
            device=device,
            on_progress=on_progress,
            on_step=on_step,
            checkpoint_path=checkpoint,
            resume=resume,
        )

    result = with_batch_backoff(
        ctx, "pretrain", wanted["batch_size"], min(MIN_BATCH_SIZE, len(rows)), attempt
    )
    encoder_path = folder / "encoder.pt"
    ssl_pretrain.save_encoder(result.encoder, encoder_path, config=result.config)
    history = result.history
    version = EncoderVersion.objects.create(
        project=project,
        job=job,
        method=result.config.method,
        backbone=result.config.backbone,
        params={**result.config.to_dict(), "device": device},
        checkpoint=files.relative(encoder_path),
        embeddings_dir=files.relative(folder / "embeddings"),
        embedding_dim=int(result.encoder.dim),
        n_embedded=0,
        metrics={
            "epochs": len(history),
            "final_loss": history[-1]["loss"] if history else None,
            "img_per_s": history[-1]["img_per_s"] if history else None,
            "loss_history": [round(h["loss"], 5) for h in history],
        },
    )
    ctx.result["pretrain"] = {
        "encoder": version.pk,
        "epochs": len(history),
        "resumed_from_epoch": start_epoch,
        "batch_size": result.config.batch_size,
        "final_loss": version.metrics["final_loss"],
    }
    ctx.cache["encoder_version"] = version
    ctx.cache["encoder"] = result.encoder
    return version

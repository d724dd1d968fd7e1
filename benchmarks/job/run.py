"""One job, top to bottom: the `ganctrl` command (docs/DESIGN.md, "The flow of one job")."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig
from pytorch_lightning import seed_everything
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from ganctrl import atomic
from ganctrl.benchmarks.job.config import ConfigError, register_schema, validate
from ganctrl.benchmarks.job.records import REAL_IMAGES, RunRecord
from ganctrl.benchmarks.job.resume import (
    SKIPPED,
    code_drift,
    finished_record,
    job_code_version,
    keep_replaced,
)
from ganctrl.benchmarks.job.trainer import (
    build_trainer,
    job_device,
    pin_threads,
    process_count,
    resolved_trainer_settings,
)
from ganctrl.benchmarks.zoo import generators
from ganctrl.methods.common.job_inputs import OwnNetworks, TrainingImages
from ganctrl.metrics.evaluate import evaluate
from ganctrl.metrics.features import weights_hash

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """The job's record; a skipped job's carries `SKIPPED`, for the sweep's progress line."""
    validate(cfg)
    pin_threads(cfg)
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    choices = hydra_cfg.runtime.choices
    names = {group: choices.get(group) for group in ("method", "data", "generator", "trainer")}
    names["experiment"] = choices.get("experiment")
    trainer_settings = resolved_trainer_settings(cfg.trainer)
    method_class = get_class(cfg.method._target_)
    if not (method_class.needs_generator or issubclass(method_class, OwnNetworks)):
        names["generator"] = REAL_IMAGES
    processes = process_count(trainer_settings)
    if not method_class.supports_ddp and processes > 1:
        raise ConfigError(
            f"method={names['method']} ({method_class.__name__}) brings its own schedule of "
            f"iterations and cannot run in {processes} processes: use "
            "trainer=gpu or trainer.devices=1"
        )
    device = job_device(trainer_settings)
    # Under DDP, Lightning starts the other ranks by running this command again: they train
    # alongside rank 0 and leave sampling, evaluation and results.json to it.
    primary = rank_zero_only.rank == 0
    record = RunRecord(output_dir, cfg, names, device, primary)
    record.data["code_version"] = job_code_version(record.data["config"], sys.modules[__name__])
    finished = finished_record(output_dir, record.data["config_hash"])
    if finished is not None:  # a resumed sweep: this job's results are there already
        log.info("skipped: %s holds this config's finished results", record.path)
        drift = code_drift(
            finished, record.data["code_version"], record.data["versions"]["git_commit"]
        )
        if drift:
            log.warning("%s: %s", output_dir.name, drift)
        return {**finished, SKIPPED: True}
    if primary:
        keep_replaced(output_dir, record.data["config_hash"])
    record.data["trainer"] = trainer_settings
    record.write("running")
    logger = instantiate(cfg.logger) if cfg.logger else False
    status = "failed"
    try:
        _run_stages(cfg, names, trainer_settings, device, output_dir, record, logger)
        status = "success"
    except BaseException as error:
        record.write("failed", error=f"{type(error).__name__}: {error}")
        raise
    finally:
        close_logger(logger, status)
    record.write("ok")
    if primary:
        log.info("results: %s", record.path)
    return record.data


def save_pictures(pictures: dict, output_dir: Path, record: RunRecord) -> None:
    """Each (3, H, W) picture as samples/<stem>.png, listed among the run's artifacts."""
    for name, picture in pictures.items():
        path = output_dir / "samples" / f"{name}.png"
        atomic.save_png(picture, path)
        record.data["artifacts"][name] = str(path.relative_to(output_dir))


def close_logger(logger, status: str) -> None:
    """End the job's logging whatever its outcome. Lightning leaves a wandb run open, and the
    basic launcher runs every job of a sweep in one process: without `finish`, the next job's
    logger would join this job's run."""
    if not logger:
        return
    logger.finalize(status)
    if isinstance(logger, WandbLogger):
        import wandb

        wandb.finish(exit_code=0 if status == "success" else 1)


def _run_stages(cfg, names, trainer_settings: dict, device, output_dir: Path, record, logger):
    seed_everything(cfg.seed, workers=True)
    with record.stage("data"):
        datamodule = instantiate(cfg.data)
        datamodule.setup()

    method_class = get_class(cfg.method._target_)
    extra = {}
    if method_class.needs_generator:
        with record.stage("generator"):
            entry = generators.pretrained(
                cfg.generator,
                cfg.data,
                datamodule,
                cfg.paths.cache,
                label=f"{names['data']}-{names['generator']}",
                make_trainer=lambda label, callbacks: build_trainer(
                    trainer_settings, label, callbacks=callbacks
                ),
                metrics_cfg=cfg.metrics,
                device=device,
            )
        record.data["generator"] = {
            "path": str(entry.path),
            "trained_here": entry.trained,
            "quality": entry.quality,
            "weights_hash": weights_hash(entry.generator),  # one cache key, per-machine weights
        }
        extra["generator"] = entry.generator.to(device)
        seed_everything(cfg.seed, workers=True)  # the job's RNG must not depend on the zoo's

    if issubclass(method_class, OwnNetworks):
        extra["networks"] = generators.BackboneNetworks(cfg.generator, datamodule)
    if issubclass(method_class, TrainingImages):
        extra["images"] = datamodule.images("train")
    method = instantiate(cfg.method, **extra)
    if method.trains:
        with record.stage("fit"):
            trainer = build_trainer(trainer_settings, f"fit {names['method']}", logger)
            trainer.fit(method, datamodule if method.trains_on_images else None)
        if not record.primary:  # another DDP rank: its share of training is done
            return
    method.to(device)
    controls = method.controls()
    record.data["training"] = method.summary()  # after controls(): some methods form them there
    record.data["run"]["control"] = type(controls).__name__

    with record.stage("samples"):
        save_pictures(controls.pictures(seed=cfg.metrics.grid_seed), output_dir, record)

    with record.stage("evaluate"):
        evaluation = evaluate(controls, datamodule, cfg.metrics, cfg.paths.cache, device)
    save_pictures(evaluation.pop("pictures"), output_dir, record)
    record.data["metrics"] = evaluation.pop("metrics")
    record.data["evaluation"] = evaluation
    if logger:
        logger.log_metrics({f"eval/{k}": m["value"] for k, m in record.data["metrics"].items()})
        if hasattr(logger, "log_image"):  # every picture: grid, traversals, cluster labels, …
            for name, path in record.data["artifacts"].items():
                logger.log_image(key=f"pictures/{name}", images=[str(output_dir / path)])


register_schema()


@hydra.main(version_base="1.3", config_path="pkg://ganctrl.conf", config_name="config")
def main(cfg: DictConfig) -> dict:
    try:
        return run(cfg)
    except ConfigError as error:  # the user's input, not our code: the message, not a traceback
        print(f"ganctrl: config error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

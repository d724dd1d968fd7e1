"""A quiet Lightning trainer on the CPU, for the tests that fit a method or a GAN directly."""

import pytorch_lightning as pl


def quiet_trainer(**settings) -> pl.Trainer:
    """One epoch on the CPU, with no logger, checkpoint, progress bar or summary; `settings`
    override or add to these."""
    defaults = {
        "accelerator": "cpu",
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return pl.Trainer(**{**defaults, **settings})

"""One job: the `ganctrl` command, its config checks, its trainer, its results.json, resuming and a
sweep's progress.
"""

"""Does a refactor keep every number? Runs a smoke job of every method row and one toy job
(imle_clusters, seed 0) from a fresh cache, and records or checks their metric values.

    python -m ganctrl.benchmarks.studies.same_numbers record FILE   # before the change
    python -m ganctrl.benchmarks.studies.same_numbers check FILE    # after: exit 1 on any change

Values are compared exactly: the jobs run on the CPU with the thread count recorded in FILE, so
the same code gives the same bits. The cache files each job built are listed too, so a check
also shows which cache keys moved.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ganctrl import atomic

JOBS = {
    "smoke": ["-m", "experiment=smoke", "method=glob(*)", "seed=0"],
    "toy": ["experiment=toy", "method=imle_clusters", "seed=0"],
}


def measure(threads: int) -> dict:
    """{job: {metric: value}} and {profile: cache files} from fresh runs in a temporary folder."""
    ganctrl = str(Path(sys.executable).with_name("ganctrl"))
    values, cache_files = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for profile, overrides in JOBS.items():
            out = scratch / profile
            subprocess.run(
                [
                    ganctrl,
                    *overrides,
                    "logger=none",
                    f"threads={threads}",
                    f"paths.cache={scratch / 'cache'}",
                    f"hydra.run.dir={out}/run",
                    f"hydra.sweep.dir={out}",
                    "hydra.sweep.subdir=${hydra.job.num}",
                ],
                check=True,
                cwd=scratch,
            )
            for path in sorted(out.rglob("results.json")):
                record = json.loads(path.read_text())
                job = f"{profile}/{record['run']['data']}/{record['run']['method']}"
                if record["status"] != "ok":
                    raise SystemExit(f"{job}: status {record['status']}: {record.get('error')}")
                values[job] = {name: m["value"] for name, m in sorted(record["metrics"].items())}
        cache_files = sorted(
            str(p.relative_to(scratch / "cache"))
            for p in (scratch / "cache").rglob("*")
            if p.is_file() and not p.name.endswith(".lock")
        )
    return {"threads": threads, "values": values, "cache_files": cache_files}


def differences(before: dict, after: dict) -> list[str]:
    lines = []
    for job in sorted(set(before["values"]) | set(after["values"])):
        old, new = before["values"].get(job), after["values"].get(job)
        if old is None or new is None:
            lines.append(f"{job}: only {'after' if old is None else 'before'}")
            continue
        for metric in sorted(set(old) | set(new)):
            if old.get(metric) != new.get(metric):
                lines.append(f"{job} {metric}: {old.get(metric)} -> {new.get(metric)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "check"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.action == "record":
        atomic.write_json(measure(args.threads), args.file)
        return
    before = json.loads(args.file.read_text())
    after = measure(before["threads"])
    changed = differences(before, after)
    jobs = len(before["values"])
    moved = sorted(set(before["cache_files"]) ^ set(after["cache_files"]))
    print(f"{jobs} jobs, {sum(map(len, before['values'].values()))} values compared")
    print(f"cache files only before or after: {len(moved)}")
    for name in moved:
        print(f"  {'before' if name in before['cache_files'] else 'after '} {name}")
    for line in changed:
        print(line)
    print("same numbers" if not changed else f"{len(changed)} values changed")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()

"""The sweep's progress line: the job count the basic sweeper makes, and the time estimate."""

import time

from hydra.core.utils import JobReturn, JobStatus

from ganctrl.benchmarks.job.progress import SweepProgress, duration, progress_line, sweep_size
from ganctrl.benchmarks.job.resume import SKIPPED


def test_the_count_is_the_product_of_the_sweeps_with_the_command_line_last():
    assert sweep_size(["data=a,b", "method=x,y,z", "seed=0"]) == 6
    # the command line narrows a sweep the config's params set (METHODS= in make bench)
    assert sweep_size(["data=a,b", "method=x,y,z", "method=y"]) == 2
    assert sweep_size(["seed=range(0,4)"]) == 4


def test_the_estimate_is_the_mean_finished_job_times_the_jobs_left():
    assert progress_line(1, 4, []) == "sweep job 1 of 4"
    # jobs 3 and 4 are left: 2 × (60 + 120) / 2 seconds
    line = progress_line(3, 4, [60.0, 120.0])
    assert line == "sweep job 3 of 4; 2 done in 3m00s, about 3m00s left"
    assert progress_line(2, None, [10.0]) == "sweep job 2 of ?; 1 done in 0m10s"
    assert duration(3 * 3600 + 125) == "3h02m"


def test_skipped_jobs_are_counted_apart_and_kept_out_of_the_estimate():
    """A resumed sweep: jobs skipped in seconds must not shrink the estimate for jobs that run."""
    progress = SweepProgress()
    progress.job_start = 0.0  # a job that ran for a long while (perf_counter counts from boot)
    progress.on_job_end(None, JobReturn(status=JobStatus.COMPLETED, _return_value={"status": "ok"}))
    for _ in range(3):  # three finished jobs, each returned with the skip mark
        progress.job_start = float("inf")  # any time they took must be ignored
        done = JobReturn(status=JobStatus.COMPLETED, _return_value={"status": "ok", SKIPPED: True})
        progress.on_job_end(None, done)
    progress.job_start = 0.0
    failed = JobReturn(status=JobStatus.FAILED, _return_value=RuntimeError("boom"))
    progress.on_job_end(None, failed)  # a failed job ran: its time counts
    assert progress.skipped == 3 and len(progress.finished) == 2
    line = progress_line(6, 8, [60.0, 120.0], skipped=3)
    assert line == "sweep job 6 of 8; 3 skipped; 2 done in 3m00s, about 4m30s left"


def test_time_spent_training_the_zoo_is_kept_out_of_the_estimate():
    """A cold sweep: the first job trained its generator (50 of its 60 minutes), the second loaded
    it; the jobs left are estimated at the jobs' own time, (10 + 12) / 2 minutes each."""
    progress = SweepProgress()
    for minutes, trained in ((60, True), (12, False)):
        record = {
            "status": "ok",
            "generator": {"trained_here": trained},
            "seconds": {"generator": 50 * 60.0 if trained else 3.0},
        }
        progress.job_start = time.perf_counter() - minutes * 60
        progress.on_job_end(None, JobReturn(status=JobStatus.COMPLETED, _return_value=record))
    assert progress.zoo_training == 50 * 60.0
    line = progress_line(3, 4, [3600.0, 720.0], zoo_training=progress.zoo_training)
    assert line == (
        "sweep job 3 of 4; 2 done in 1h12m, about 22m00s left and any generator still to train"
    )
    assert progress_line(3, 4, [3600.0, 720.0]).endswith("about 1h12m left")

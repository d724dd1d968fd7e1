"""The sweep's progress line: the job count the basic sweeper makes, and the time estimate."""

from ganctrl.benchmarks.progress import duration, progress_line, sweep_size


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

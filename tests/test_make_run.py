"""`make run` on a fresh machine (issue 25): the first run installs for a minute or more, so it
says what it is doing at each step and lets pip show its progress, never a silent `--quiet`.

Read from `make --dry-run` with a virtual environment that does not exist yet (what a fresh
clone sees): the commands make would run, in order, without running them. Installing for real
takes a minute of a shared machine; the README test (`tests/test_readme.py`) serves the app
the way `make run` does once installed."""

import re
import shlex
import subprocess

from tests.servers import ROOT


def dry_run(tmp_path) -> list[str]:
    venv = tmp_path / "fresh-venv"
    done = subprocess.run(
        ["make", "--dry-run", "run", f"VENV={venv}", "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_make_run_announces_each_install_step_before_running_it(tmp_path):
    lines = dry_run(tmp_path)

    steps = [line for line in lines if re.match(r'echo "==> \[\d/\d\] ', line)]
    assert [line[len('echo "==> [') :][:3] for line in steps] == ["1/3", "2/3", "3/3"]
    venv_line = next(i for i, line in enumerate(lines) if " -m venv " in line)
    install_line = next(i for i, line in enumerate(lines) if "-e '.[dev]'" in line)
    assert lines.index(steps[0]) < venv_line < lines.index(steps[2]) < install_line
    assert any(line.startswith('echo "==> Serving on http://127.0.0.1:4003/') for line in lines)


def test_make_run_lets_pip_show_its_progress_for_the_long_install(tmp_path):
    install = next(line for line in dry_run(tmp_path) if "-e '.[dev]'" in line)

    arguments = shlex.split(install)
    assert "--quiet" not in arguments and "-q" not in arguments
    assert arguments[arguments.index("--progress-bar") + 1] == "on"

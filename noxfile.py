"""Development sessions: tests, lint, typecheck, layouts, examples, bench, slowdown."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite against the installed (non-editable) package."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "tools", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "tools", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install(".[lint]")
    session.run("mypy", "--strict", "src")


@nox.session
def layouts(session: nox.Session) -> None:
    """Regenerate the per-version struct layouts from the installed headers."""
    session.run("python", "tools/gen_layouts.py", *session.posargs, external=True)


@nox.session
def examples(session: nox.Session) -> None:
    """Dump the example program, as the README shows."""
    session.install(".")
    session.run(
        "bash",
        "-c",
        "python examples/busy_service.py --seconds 5 & sleep 1; pysampler dump $!; wait",
        external=True,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """pysampler beside CPython 3.15's profiler, py-spy and Austin 3.7; a Markdown report.

    ``nox -s bench -- --quick`` takes about two minutes; see benchmarks/README.md.
    """
    # Austin 3.7: newer austin-dist wheels need a newer glibc than Debian 12's.
    session.install(".", "py-spy", "austin-dist==3.7.0")
    session.run("python", "benchmarks/compare.py", *session.posargs)


@nox.session
def slowdown(session: nox.Session) -> None:
    """Target slowdown at 1 kHz: pysampler out of process and in process, pyinstrument.

    ``nox -s slowdown -- --quick``; see benchmarks/README.md.
    """
    session.install(".", "py-spy", "austin-dist==3.7.0", "pyinstrument")
    session.run("python", "benchmarks/slowdown.py", *session.posargs)


@nox.session(name="render-scale")
def render_scale(session: nox.Session) -> None:
    """Building, saving, loading and rendering profiles of up to a million samples.

    ``nox -s render-scale -- --sizes 100k:10k --repeat 3`` takes under a
    minute; see benchmarks/README.md.
    """
    session.install(".")
    session.run("python", "benchmarks/render_scale.py", *session.posargs)

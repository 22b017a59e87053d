"""Command-line interface: ``diskorbits <command>``.

A thin layer over the library's entry points. Each command group lives in its
own module exposing ``register(app)``; adding a group (``ism``,
``diffusion``, ``oti``, ``migration``) means writing that module and adding
it to :data:`_GROUPS`.
"""

from __future__ import annotations

import typer

from . import actions, demo, diffusion, ism, migration, oti, version

__all__ = ["app", "main"]

app = typer.Typer(
    name="diskorbits",
    help=(
        "Orbital dynamics of stars in galactic disks.\n\n"
        "Commands: actions (catalogue -> actions, angles, frequencies), "
        "ism (shearing-box transport runs), diffusion (coefficients, fits, Langevin runs), "
        "oti (Orbital Torus Imaging: mocks, fits, summaries, plots), "
        "migration (Frankel et al. 2020: mocks, fits, summaries, plots), demo, version."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that add commands to :data:`app`, in help order.
_GROUPS = (actions, ism, diffusion, oti, migration, demo, version)
for _group in _GROUPS:
    _group.register(app)


def main() -> None:
    """Console-script entry point (``diskorbits = "diskorbits.cli:main"``)."""
    app()

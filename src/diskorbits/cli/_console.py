"""Rich output shared by the commands: tables that stay whole in logs, unit labels that survive markup."""

from __future__ import annotations


def console_for(*tables):
    """A rich console wide enough for ``tables`` when output is not a terminal (a file, a pipe, a
    log): rich would otherwise wrap at 80 columns and cut wide tables' cells to "…". On a terminal
    the terminal's width is kept."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal and tables:
        unbounded = console.options.update(max_width=100_000)  # measure() otherwise clips to the width
        needed = max(console.measure(t, options=unbounded).maximum for t in tables)
        console = Console(width=max(console.width, needed))
    return console


def with_unit(label: str, unit: str) -> str:
    """``label [unit]`` with the brackets escaped: rich would read ``[kpc]`` as a style tag and drop it."""
    from rich.markup import escape

    return escape(f"{label} [{unit}]") if unit else label

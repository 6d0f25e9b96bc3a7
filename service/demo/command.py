"""The ``lifeline demo`` command, added to the command line by ``register``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer


def register(app: typer.Typer, *, serve: Callable[..., None]) -> None:
    """Add ``lifeline demo`` to ``app``; ``serve(host=, port=, processes=)`` runs the API after."""

    @app.command()
    def demo(
        serve_after: Annotated[
            bool, typer.Option("--serve/--no-serve", help="Run the API afterwards")
        ] = True,
        people: Annotated[int, typer.Option(help="Synthetic people in the register")] = 20_000,
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port")] = 8000,
    ) -> None:
        """Set up the embedded database with a realistic directory and register, show who is
        exposed in three scenario zones, print tokens, and serve."""
        # Here rather than at the top: the demo loads the boundaries, the exposure engine and
        # the crisis pass (about 1.5 s), which no other command and no --help needs.
        from service.demo.run import run_demo

        run_demo(people=people, host=host, port=port)
        if serve_after:
            serve(host=host, port=port, processes=1)

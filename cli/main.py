"""The ``egov`` command: the group and the table of its commands.

Each concern lives in its own file and exposes click commands; this file
only names them. A command's file is imported when that command runs (or
when ``egov --help`` lists them all), so ``egov tx`` or ``egov keys`` do not
pay for importing the node, its HTTP server and Trio. To add a command
(``egov start``, ``egov localnet``), define it in ``cli/<name>.py`` and add
it to ``COMMANDS`` below. Command files must not import this module.
"""

from __future__ import annotations

import importlib

import click

from cli.context import Settings

# command name -> (module, attribute of the click command in it)
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("cli.audit", "audit"),
    "block": ("cli.query", "block"),
    "demo": ("cli.demo", "demo"),
    "export": ("cli.transfer", "export"),
    "genesis": ("cli.genesis", "genesis"),
    "import": ("cli.transfer", "import_"),
    "init": ("cli.home", "init"),
    "keys": ("cli.keys", "keys"),
    "localnet": ("cli.localnet", "localnet"),
    "query": ("cli.query", "query"),
    "query-module": ("cli.query", "query_module"),
    "start": ("cli.start", "start"),
    "status": ("cli.query", "status"),
    "tx": ("cli.tx", "tx"),
}


class _LazyGroup(click.Group):
    """A group whose commands in ``COMMANDS`` are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = super().get_command(ctx, cmd_name)
        if known is not None or cmd_name not in COMMANDS:
            return known
        module_name, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            where = f"{module_name}.{attribute}"
            raise RuntimeError(f"{where} is not the command {cmd_name}")
        self.add_command(command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="egov", prog_name="egov")
@click.pass_context
def main(ctx: click.Context) -> None:
    """egov: a permissioned BFT blockchain for e-government.

    Exit status: 0 success; 1 the operation failed (refused or failed
    transaction, audit divergence, invalid input); 2 bad usage, or a query
    answer that did not verify; 3 the node was unreachable or broke the API.
    """
    ctx.ensure_object(Settings)


if __name__ == "__main__":
    main()

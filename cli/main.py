"""The ``egov`` command: the group and the registration of its commands.

Each concern lives in its own file and exposes click commands; this file
only gathers them. To add a command (``egov start``, ``egov localnet``),
define it in ``cli/<name>.py`` and add it in ``_register`` below. Command
files must not import this module (it imports them).
"""

from __future__ import annotations

import click

from cli.audit import audit
from cli.context import Settings
from cli.demo import demo
from cli.genesis import genesis
from cli.home import init
from cli.keys import keys
from cli.localnet import localnet
from cli.query import block, query, query_module, status
from cli.start import start
from cli.transfer import export, import_
from cli.tx import tx


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="egov", prog_name="egov")
@click.pass_context
def main(ctx: click.Context) -> None:
    """egov: a permissioned BFT blockchain for e-government.

    Exit status: 0 success; 1 the operation failed (refused or failed
    transaction, audit divergence, invalid input); 2 bad usage, or a query
    answer that did not verify; 3 the node was unreachable or broke the API.
    """
    ctx.ensure_object(Settings)


def _register(group: click.Group) -> None:
    for command in (
        keys,
        init,
        genesis,
        tx,
        query,
        query_module,
        status,
        block,
        audit,
        export,
        import_,
        start,
        localnet,
        demo,
    ):
        group.add_command(command)


_register(main)

if __name__ == "__main__":
    main()

"""The node's HTTP API (DESIGN.md §8); endpoints are described in docs/API.md.

``create_api(node)`` builds the Starlette application over a ``NodeView``;
``serve_api`` serves it with hypercorn on Trio.
"""

from node.api.app import create_api
from node.api.context import ApiLimits
from node.api.errors import ApiError
from node.api.server import serve_api
from node.api.view import NodeView

__all__ = ["ApiError", "ApiLimits", "NodeView", "create_api", "serve_api"]

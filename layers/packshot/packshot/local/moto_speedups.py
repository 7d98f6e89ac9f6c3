"""Costs moto pays again and again on the embedded AWS, paid once instead.

moto parses the state machine's ASL with ANTLR for every execution (0.26 s of CPU for ours, about a quarter of
the embedded AWS's CPU per photo) and builds a new boto3 client for every Lambda task (14 ms each). The parse
depends only on the definition, and the component tree keeps no per-execution state (moto keeps that in each
execution's Environment: retry counts, the task token wait), so one parse per definition serves every execution;
one client per region, service and endpoint serves every task (botocore clients are thread-safe). And its server
lists its own package folder (a directory read and ~150 stat calls) on every request to find the service; the
folder does not change while it runs, so the list is read once.
DynamoDB: a Scan or Query with a ProjectionExpression converted the whole item to plain JSON once per projected
path (the runner's progress poll, three paths over every record twice a second, was a quarter of the embedded
AWS's CPU); only the attributes the paths start with are converted now, with the same result. And every
UpdateItem parsed its UpdateExpression twice (the request check and the update); the adapters send the same few
expressions again and again, and moto deep-copies the tree before it validates or runs one, so one parse per
expression serves them all. A Scan deep-copied every item it returned before projecting it, and projecting builds
a new item from plain JSON anyway (the progress poll copied every record with its QC signals twice a second): a
Scan of the table with a ProjectionExpression projects the stored items instead, with the same result. And every
UpdateItem deep-copied the stored item to answer ReturnValues; with none asked for (what the adapters send) the
copy is thrown away unread, so it is not made.
Private moto APIs, like the invoke hook in lambda_runtime.py: moto is pinned to 5.2.x and
tests/integration/test_moto_contract.py fails loudly if any of them moves.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any


def install() -> Callable[[], None]:
    """Patch moto in this process; returns the function that undoes it."""
    from moto import backends
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original_parse = AmazonStateLanguageParser.__dict__["parse"]
    original_client = lambda_eval_utils.boto_client_for
    parse = functools.lru_cache(maxsize=16)(original_parse.__func__)
    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.settings import moto_server_port

        # moto hands every task StateCredentials (the execution's role when the state names none), so the role is
        # part of the key, not a reason to skip the cache: one client per role, region, service and endpoint.
        role = getattr(state_credentials, "role_arn", None)
        key = (f"{region}/{service}", str(moto_server_port()), str(role))
        with lock:
            if key not in clients:
                clients[key] = original_client(region, service, state_credentials)
            return clients[key]

    original_modules = backends.list_of_moto_modules
    modules = tuple(original_modules())
    original_project = Item.project
    original_make = UpdateExpressionParser.__dict__["make"]
    from moto.dynamodb import responses as responses_module
    from moto.dynamodb.models import table as table_module

    original_scan, original_copy = table_module.Table.scan, table_module.copy
    original_update = responses_module.DynamoHandler.update_item

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    lambda_eval_utils.boto_client_for = client_for  # type: ignore[assignment]
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    Item.project = project  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(  # type: ignore[method-assign,assignment]
        functools.lru_cache(maxsize=256)(original_make.__func__))  # type: ignore[arg-type]
    table_module.copy = responses_module.copy = _SkipCopy(original_copy)  # type: ignore[assignment]
    table_module.Table.scan = functools.partialmethod(_scan, original_scan)  # type: ignore[assignment]
    responses_module.DynamoHandler.update_item = functools.partialmethod(  # type: ignore[assignment]
        _update_item, original_update)

    def uninstall() -> None:
        responses_module.DynamoHandler.update_item = original_update  # type: ignore[method-assign]
        table_module.Table.scan = original_scan  # type: ignore[method-assign]
        table_module.copy = responses_module.copy = original_copy
        UpdateExpressionParser.make = original_make  # type: ignore[method-assign]
        Item.project = original_project  # type: ignore[method-assign]
        backends.list_of_moto_modules = original_modules  # type: ignore[assignment]
        AmazonStateLanguageParser.parse = original_parse  # type: ignore[method-assign]
        lambda_eval_utils.boto_client_for = original_client  # type: ignore[assignment]

    return uninstall


# A projected path's first element names the attribute it starts in: "name", or "name[3]" for a list element.
_LIST_ELEMENT = re.compile(r"(.+)\[(\d+)\]$")


def project(self: Any, projection_expressions: list[list[str]]) -> Any:
    """moto's Item.project with the same result, converting only the attributes the paths start with.

    moto hands find_nested_key the whole item as plain JSON, freshly converted for every path; find_nested_key
    looks at the top level only under the path's first name (or, for "name[i]", under name), so a fresh dict of
    just those attributes gives it the same answer (fresh per path too: merge_dicts may fill what it returns).
    """
    from botocore.utils import merge_dicts
    from moto.dynamodb.models.dynamo_type import Item, deserializer, serializer
    from moto.dynamodb.models.utilities import find_nested_key

    result: dict[str, Any] = {}
    for expr in projection_expressions:
        element = _LIST_ELEMENT.match(expr[0])
        names = {expr[0], element.group(1)} if element else {expr[0]}
        plain = {name: deserializer.deserialize(self.attrs[name].to_regular_json())
                 for name in names if name in self.attrs}
        merge_dicts(result, find_nested_key(expr, plain))
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=serializer.serialize(result)["M"])


_uncopied = threading.local()


class _SkipCopy:
    """The `copy` of moto's DynamoDB table and response modules, except that deepcopy hands back the value itself
    while a call flagged on its thread runs: a projecting Scan (its only copies are of the items it returns, and
    it replaces each by its projection, a new item made from plain JSON, before returning; its filter only reads
    them), or an UpdateItem without ReturnValues (its one copy, of the old item, feeds only the return values)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if getattr(_uncopied, "on", False):
            return value
        return self._module.deepcopy(value, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _scan(self: Any, original: Callable[..., Any], filters: Any, limit: Any, exclusive_start_key: Any,
          filter_expression: Any = None, index_name: str | None = None, consistent_read: bool = False,
          projection_expression: list[list[str]] | None = None, *args: Any, **kwargs: Any) -> Any:
    """moto's Table.scan; with a ProjectionExpression over the table (not an index) it copies no item."""
    _uncopied.on = bool(projection_expression) and not index_name
    try:
        return original(self, filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                        projection_expression, *args, **kwargs)
    finally:
        _uncopied.on = False


def _update_item(self: Any, original: Callable[[Any], Any]) -> Any:
    """moto's DynamoHandler.update_item; without ReturnValues it does not copy the old item."""
    _uncopied.on = self.body.get("ReturnValues", "NONE") == "NONE"
    try:
        return original(self)
    finally:
        _uncopied.on = False

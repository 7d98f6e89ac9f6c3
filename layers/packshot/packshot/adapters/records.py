"""DynamoDB adapter for image records: one item per image, keyed by image_id."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.errors import TransientStorageError
from packshot.ports import Record
from packshot.status import TERMINAL_STATUSES

# The global secondary index on `batch` (template.yaml) the delivery step queries.
BATCH_INDEX = "BatchIndex"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class RecordsTable:
    """The image records table. Writes are conditional so a record is created once."""

    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self._name = table_name
        self._db = dynamodb_client or client("dynamodb")

    def create_if_absent(self, record: Mapping[str, Any]) -> bool:
        """Put the record unless one with its image_id exists; True when this call created it."""
        return _conditional(lambda: self._db.put_item(
            TableName=self._name,
            Item=_to_item(record),
            ConditionExpression="attribute_not_exists(image_id)",
        ))

    def update(self, image_id: str, fields: Mapping[str, Any]) -> None:
        """Set top-level attributes on an existing record (the record must exist)."""
        if not fields:
            return
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": _to_attr(value) for i, value in enumerate(fields.values())}
        assignments = ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        try:
            self._db.update_item(
                TableName=self._name,
                Key={"image_id": {"S": image_id}},
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="attribute_exists(image_id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    def update_if(self, image_id: str, fields: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
        """Set attributes only while the record still holds the expected values; False when it has moved on."""
        names = {**{f"#f{i}": name for i, name in enumerate(fields)},
                 **{f"#e{i}": name for i, name in enumerate(expected)}}
        values = {**{f":v{i}": _to_attr(value) for i, value in enumerate(fields.values())},
                  **{f":e{i}": _to_attr(value) for i, value in enumerate(expected.values())}}
        return _conditional(lambda: self._db.update_item(
            TableName=self._name,
            Key={"image_id": {"S": image_id}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ConditionExpression=" AND ".join(f"#e{i} = :e{i}" for i in range(len(expected))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        ))

    def close(self, image_id: str, fields: Mapping[str, Any], *, execution_name: str) -> bool:
        """Set fields unless the record is terminal already or a newer execution works on it; True when set."""
        names = {"#s": "status", "#x": "execution_name", **{f"#f{i}": name for i, name in enumerate(fields)}}
        terminal = {f":t{i}": _to_attr(s) for i, s in enumerate(sorted(TERMINAL_STATUSES))}
        values = {":x": _to_attr(execution_name), **terminal,
                  **{f":v{i}": _to_attr(value) for i, value in enumerate(fields.values())}}
        return _conditional(lambda: self._db.update_item(
            TableName=self._name,
            Key={"image_id": {"S": image_id}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ConditionExpression=(f"attribute_exists(image_id) AND NOT #s IN ({', '.join(terminal)}) "
                                 "AND (attribute_not_exists(#x) OR #x = :x)"),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        ))

    def get(self, image_id: str) -> Record | None:
        try:
            resp = self._db.get_item(TableName=self._name, Key={"image_id": {"S": image_id}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc
        item = resp.get("Item")
        return _record(item) if item else None

    def in_batch(self, batch: str) -> Iterator[Record]:
        """Every record of one upload batch, from the batch index (records without a batch are not in it)."""
        paginator = self._db.get_paginator("query")
        try:
            for page in paginator.paginate(
                TableName=self._name,
                IndexName=BATCH_INDEX,
                KeyConditionExpression="#b = :b",
                ExpressionAttributeNames={"#b": "batch"},
                ExpressionAttributeValues={":b": {"S": batch}},
            ):
                for item in page.get("Items", []):
                    yield _record(item)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc) from exc

    def scan(self, fields: Sequence[str] = ()) -> Iterator[Record]:
        """Every record (only `fields` of each, when given); for reports and the embedded runner, not the hot path."""
        paginator = self._db.get_paginator("scan")
        projection: dict[str, Any] = {}
        if fields:
            names = {f"#f{i}": field for i, field in enumerate(fields)}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        for page in paginator.paginate(TableName=self._name, ConsistentRead=True, **projection):
            for item in page.get("Items", []):
                yield _record(item)


def _conditional(write: Callable[[], object]) -> bool:
    """Run a conditional write: False when its condition failed, a typed error for anything else."""
    try:
        write()
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise _translate(exc) from exc
    except BotoCoreError as exc:
        raise _translate(exc) from exc
    return True


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def _to_attr(value: Any) -> dict[str, Any]:
    return dict(_serializer.serialize(_to_dynamo(value)))


def _to_item(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _to_attr(v) for k, v in record.items() if v is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def _record(item: Mapping[str, Any]) -> Record:
    """An item as the record it is: whatever its writers set (ports.Record names every field they write)."""
    return cast(Record, _from_item(item))


def _translate(exc: Exception) -> Exception:
    if is_transient(exc):
        return TransientStorageError(f"DynamoDB call failed transiently: {exc}")
    return exc

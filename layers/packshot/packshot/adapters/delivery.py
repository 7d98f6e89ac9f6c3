"""Calling the deliver function and fetching its package: for `packshot deliver` and the end of `packshot run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.errors import PackshotError


class DeliveryError(PackshotError):
    """The deliver function could not be called, or it failed; the reason says which."""




def function_from_stack(stack: str, cloudformation: Any) -> str:
    """The DeliverFunctionName output of a deployed stack."""
    try:
        outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except (ClientError, BotoCoreError) as exc:
        raise DeliveryError(f"cannot read stack {stack}: {exc}") from exc
    for output in outputs:
        if output["OutputKey"] == "DeliverFunctionName":
            return str(output["OutputValue"])
    raise DeliveryError(f"stack {stack} has no DeliverFunctionName output; deploy the current template")


def invoke_deliver(lambda_client: Any, function: str, batch: str) -> dict[str, Any]:
    """Package one batch; returns the function's result (keys, counts, zip checksum)."""
    try:
        response = lambda_client.invoke(FunctionName=function, Payload=json.dumps({"batch": batch}).encode())
    except (ClientError, BotoCoreError) as exc:
        raise DeliveryError(f"cannot invoke {function}: {exc}") from exc
    payload = json.loads(response["Payload"].read() or b"null")
    if "FunctionError" in response:
        message = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
        raise DeliveryError(f"delivering batch {batch!r} failed: {message}")
    return dict(payload)


def download_package(s3_client: Any, result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Copy the zip and both manifests to out_dir/<batch slug>/; returns the files written."""
    written = []
    for key in result["keys"].values():
        path = out_dir / key.removeprefix("deliveries/")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(s3_client.get_object(Bucket=result["bucket"], Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(f"cannot download s3://{result['bucket']}/{key}: {exc}") from exc
        written.append(path)
    return written

"""The embedded AWS: moto on 127.0.0.1 with the template's resources, handlers in process, real event flow."""

from __future__ import annotations

import io
import json
import logging
import os
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from packshot.errors import ConfigurationError
from packshot.local import moto_speedups
from packshot.local.event_source import ExecutionStatusWatcher, SqsMapping, SqsPoller, execution_rule
from packshot.local.lambda_runtime import InProcessRuntime, ProcessRuntime, handler_specs
from packshot.local.template import ACCOUNT_ID, REGION, Stack
from packshot.ports import Record
from packshot.status import NOT_STARTED, TERMINAL_STATUSES, WAITING_STATUSES

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
ROLE_NAME = "packshot-local-role"
TERMINAL = TERMINAL_STATUSES
# Parked on a review task token: pending by design, so a batch with these in it has settled.
WAITING = WAITING_STATUSES

# Resource types the runner creates; anything else in the template must be added here on purpose.
_HANDLED = {
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::DynamoDB::Table",
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::StateMachine",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Subscription",
    "AWS::Logs::LogGroup",
    "AWS::S3::BucketPolicy",
    "AWS::IAM::ManagedPolicy",
}


@dataclass
class Progress:
    """Counts by status for the uploaded keys, plus what is still moving."""

    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    running_executions: int = 0
    queued_messages: int = 0
    dead_letters: int = 0
    # Records of any upload (not only these keys) waiting for a person: each parks one running execution.
    parked: int = 0

    @property
    def finished(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in TERMINAL)

    @property
    def waiting(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in WAITING)

    def line(self) -> str:
        parts = [f"{n} {s}" for s, n in sorted(self.by_status.items())]
        return (f"{self.finished}/{self.total} done | " + ", ".join(parts or ["waiting"])
                + f" | {self.running_executions} running, {self.queued_messages} queued")


class EmbeddedAws:
    """Start with `with EmbeddedAws() as aws:`; everything stops and the environment is restored on exit."""

    def __init__(
        self,
        template: Path = DEFAULT_TEMPLATE,
        *,
        max_concurrency: int = 2,
        log_level: str = "WARNING",
        parameters: dict[str, str] | None = None,
        event_sources: bool = True,
        processes: bool = False,
    ) -> None:
        self.stack = Stack.from_file(template, parameters=parameters)
        # Handlers in worker processes use every core (`packshot run`); in this process's threads they can be
        # patched and hooked by tests and the evidence scripts (fault injection into the handlers' clients).
        runtime = ProcessRuntime if processes else InProcessRuntime
        self.runtime = runtime(handler_specs(self.stack), max_concurrency=max_concurrency)
        self._log_level = log_level
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.pollers: list[SqsPoller] = []
        self.watchers: list[ExecutionStatusWatcher] = []
        self.endpoint = ""
        self._clients: dict[tuple[str, str], Any] = {}
        self._undo_speedups: Callable[[], None] | None = None
        # Off for handler tests that feed events by hand; on for everything that wants the real flow.
        self._event_sources = event_sources

    # ---------- lifecycle ----------
    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        unknown = {r["Type"] for r in self.stack.resources.values()} - _HANDLED
        if unknown:
            raise ConfigurationError(f"the embedded runner cannot create {sorted(unknown)} yet")
        from moto.server import ThreadedMotoServer

        # One line per HTTP request from werkzeug would drown the progress display.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                # moto's Step Functions interpreter calls back into the server on this port.
                "MOTO_PORT": str(port),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": self._log_level,
                **self._function_environment(),
            }
        )
        from packshot.adapters.aws import forget_clients

        forget_clients()  # clients built for an earlier embedded AWS point at its port
        self._post("/moto-api/reset", {})
        # moto only runs executions with this set, and it must be set before any state machine exists.
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        self.runtime.install()
        self._undo_speedups = moto_speedups.install()
        self._create_resources()
        if self._event_sources:
            self.start_event_sources()

    def start_event_sources(self) -> None:
        """Begin polling the queues (Lambda's event source mappings) and the executions (EventBridge rules)."""
        for source in [*self.pollers, *self.watchers]:
            if not source.is_alive():
                source.start()

    def stop(self) -> None:
        sources: list[SqsPoller | ExecutionStatusWatcher] = [*self.pollers, *self.watchers]
        for source in sources:
            source.stop()
        for source in sources:
            if source.is_alive():
                source.join(timeout=5)
        self.runtime.uninstall()
        if self._undo_speedups is not None:
            self._undo_speedups()
            self._undo_speedups = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        from packshot.adapters.aws import forget_clients

        forget_clients()  # the handlers' clients point at the server just stopped
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _function_environment(self) -> dict[str, str]:
        """The union of every function's variables: handlers share this process, so they must agree."""
        merged: dict[str, str] = {}
        for logical in self.stack.of_type("AWS::Serverless::Function"):
            for key, value in self.stack.function_environment(logical).items():
                if key in merged and merged[key] != value:
                    raise ConfigurationError(f"functions disagree on {key} ({merged[key]!r} vs {value!r}); "
                                             "the embedded runner shares one environment")
                merged[key] = value
        return merged

    def _post(self, path: str, body: dict[str, Any]) -> None:
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def client(self, service: str) -> Any:
        """A client of the embedded AWS, made once per service (botocore clients are thread-safe; building one
        costs tens of milliseconds, which progress polling paid three times a poll)."""
        made = self._clients.get((service, self.endpoint))
        if made is None:
            made = self._clients[(service, self.endpoint)] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=REGION)
        return made

    # ---------- resources, from the template's own definitions ----------
    def _create_resources(self) -> None:
        s = self.stack
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"Service": ["lambda.amazonaws.com",
                                                                                    "states.amazonaws.com"]}}]}
        role_arn = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for logical in s.of_type("AWS::IAM::ManagedPolicy"):
            props = s.resolve(s.properties(logical))
            arn = iam.create_policy(PolicyName=s.physical[logical]["Ref"].rsplit("/", 1)[-1],
                                    PolicyDocument=json.dumps(props["PolicyDocument"]))["Policy"]["Arn"]
            s.physical[logical]["Ref"] = arn
        sns = self.client("sns")
        for logical in s.of_type("AWS::SNS::Topic"):
            sns.create_topic(Name=s.physical[logical]["TopicName"])
        self._create_queues()
        sqs = self.client("sqs")
        for logical in s.of_type("AWS::SQS::QueuePolicy"):
            props = s.resolve(s.properties(logical))
            for url in props["Queues"]:
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        ddb = self.client("dynamodb")
        for logical in s.of_type("AWS::DynamoDB::Table"):
            props = s.resolve(s.properties(logical))
            kwargs: dict[str, Any] = {
                "TableName": s.physical[logical]["Ref"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ddb.create_table(**kwargs)
        self._create_buckets()
        self._create_functions(role_arn)
        sfn = self.client("stepfunctions")
        for logical in s.of_type("AWS::Serverless::StateMachine"):
            definition = s.state_machine_definition(logical)
            self.runtime.state_task_functions |= {
                s.physical[f]["Ref"] for f in s.of_type("AWS::Serverless::Function")
                if s.physical[f]["Arn"] in definition}
            sfn.create_state_machine(
                name=s.physical[logical]["Name"],
                definition=s.state_machine_definition(logical),
                roleArn=role_arn,
                type=s.properties(logical).get("Type", "STANDARD"),
            )
        self._create_operations()

    def _create_operations(self) -> None:
        """Alarms, the dashboard, the alarm e-mail subscription and the functions' log groups."""
        s = self.stack
        cloudwatch = self.client("cloudwatch")
        for logical in s.of_type("AWS::CloudWatch::Alarm"):
            props = s.resolve(s.properties(logical))
            props.setdefault("AlarmName", s.physical[logical]["Ref"])
            if "Threshold" in props:  # a parameter resolves to a string
                props["Threshold"] = float(props["Threshold"])
            cloudwatch.put_metric_alarm(**props)
        for logical in s.of_type("AWS::CloudWatch::Dashboard"):
            props = s.resolve(s.properties(logical))
            cloudwatch.put_dashboard(DashboardName=s.physical[logical]["Ref"], DashboardBody=props["DashboardBody"])
        sns = self.client("sns")
        for logical in s.of_type("AWS::SNS::Subscription"):
            props = s.resolve(s.properties(logical))
            sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"])
        logs = self.client("logs")
        for logical in s.of_type("AWS::Logs::LogGroup"):
            props = s.resolve(s.properties(logical))
            name = s.physical[logical]["Ref"]
            logs.create_log_group(logGroupName=name)
            if "RetentionInDays" in props:
                logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))

    def _create_queues(self) -> None:
        s = self.stack
        sqs = self.client("sqs")
        queues = s.of_type("AWS::SQS::Queue")
        # Dead-letter queues first: a redrive policy must name an existing queue.
        ordered = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
        for logical in ordered:
            props = s.resolve(s.properties(logical))
            attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props.items()
                          if k in {"VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                                   "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled"}}
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            url = sqs.create_queue(QueueName=s.physical[logical]["QueueName"], Attributes=attributes)["QueueUrl"]
            s.physical[logical]["Ref"] = url

    def _create_buckets(self) -> None:
        s = self.stack
        s3 = self.client("s3")
        for logical in s.of_type("AWS::S3::Bucket"):
            props = s.resolve(s.properties(logical))
            name = s.physical[logical]["Ref"]
            s3.create_bucket(Bucket=name)
            if props.get("VersioningConfiguration"):
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
            if props.get("BucketEncryption"):
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                              for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
            if props.get("PublicAccessBlockConfiguration"):
                s3.put_public_access_block(Bucket=name,
                                           PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
            policies = [s.resolve(s.properties(p)) for p in s.of_type("AWS::S3::BucketPolicy")]
            for policy in (p for p in policies if p["Bucket"] == name):
                document = _without_tls_only(policy["PolicyDocument"])
                if document["Statement"]:
                    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(document))
            queue_configs = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
            if queue_configs:
                s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
                    "QueueConfigurations": [{"QueueArn": c["Queue"], "Events": [c["Event"]]} for c in queue_configs]})

    def _create_functions(self, role_arn: str) -> None:
        s = self.stack
        lam = self.client("lambda")
        sqs = self.client("sqs")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("README.txt", "code runs in process; see packshot/local/lambda_runtime.py")
        for logical in s.of_type("AWS::Serverless::Function"):
            props = s.properties(logical)  # with the SAM Globals it takes
            name = s.physical[logical]["Ref"]
            spec = self.runtime._specs[name]
            common = {"FunctionName": name, "Role": role_arn, "Timeout": spec.timeout_s,
                      "MemorySize": spec.memory_mb,
                      "Environment": {"Variables": s.function_environment(logical)}}
            if props.get("PackageType") == "Image":
                lam.create_function(PackageType="Image", Code={"ImageUri": f"{ACCOUNT_ID}.dkr.ecr.{REGION}"
                                                                           f".amazonaws.com/{name}:local"}, **common)
            else:
                lam.create_function(Runtime=props.get("Runtime", "python3.12"), Handler=props["Handler"],
                                    Code={"ZipFile": buffer.getvalue()}, **common)
            for event in props.get("Events", {}).values():
                if event.get("Type") == "Schedule":
                    continue  # no clock-driven invokes locally: callers invoke such a function when they need it
                if event.get("Type") == "EventBridgeRule":
                    dlq = s.resolve(props.get("DeadLetterQueue", {}).get("TargetArn", ""))
                    dlq_url = next((s.physical[q]["Ref"] for q in s.of_type("AWS::SQS::Queue")
                                    if s.physical[q]["Arn"] == dlq), "")
                    try:
                        rule = execution_rule(name, s.resolve(event["Properties"]["Pattern"]), dlq_url)
                    except ValueError as exc:
                        raise ConfigurationError(str(exc)) from exc
                    self.watchers.append(ExecutionStatusWatcher(rule, self.client("stepfunctions"),
                                                                self.client("lambda"), sqs))
                    continue
                if event.get("Type") != "SQS":
                    raise ConfigurationError(f"{logical}: the embedded runner knows SQS, Schedule and EventBridge "
                                             "rules on execution status changes only")
                ev = s.resolve(event["Properties"])
                queue_logical = next(q for q in s.of_type("AWS::SQS::Queue") if s.physical[q]["Arn"] == ev["Queue"])
                self.pollers.append(SqsPoller(
                    SqsMapping(
                        function_name=name,
                        queue_url=s.physical[queue_logical]["Ref"],
                        queue_arn=ev["Queue"],
                        batch_size=int(ev.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures" in ev.get("FunctionResponseTypes", []),
                    ),
                    sqs,
                    self.client("lambda"),
                    self.client("s3"),
                ))

    # ---------- names the rest of the tooling needs ----------
    def physical(self, logical: str, attribute: str = "Ref") -> str:
        return self.stack.physical[logical][attribute]

    @property
    def input_bucket(self) -> str:
        return self._one("AWS::S3::Bucket", lambda p: "NotificationConfiguration" in p)

    @property
    def records_table(self) -> str:
        return os.environ["RECORDS_TABLE"]

    @property
    def work_bucket(self) -> str:
        return os.environ["WORK_BUCKET"]

    @property
    def export_bucket(self) -> str:
        return os.environ["EXPORT_BUCKET"]

    @property
    def state_machine_arn(self) -> str:
        return self._one("AWS::Serverless::StateMachine", lambda p: True)

    def _one(self, rtype: str, predicate: Callable[[dict[str, Any]], bool]) -> str:
        matches = [k for k, v in self.stack.of_type(rtype).items() if predicate(v.get("Properties", {}))]
        if len(matches) != 1:
            raise ConfigurationError(f"expected one {rtype} matching, found {matches}")
        return self.stack.physical[matches[0]]["Ref"]

    # ---------- running a batch ----------
    def upload(self, files: list[Path], base: Path, metadata: dict[str, dict[str, str]] | None = None,
               refused: dict[str, str] | None = None) -> list[str]:
        """Put each file under its path below base; the keys uploaded. With `refused`, a file S3 refuses is
        noted there (key -> reason) instead of raising."""
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = self.client("s3")
        keys = []
        for path in files:
            key = object_key(path, base)
            extra = {"Metadata": metadata[path.name]} if metadata and path.name in metadata else {}
            try:
                s3.put_object(Bucket=self.input_bucket, Key=key, Body=path.read_bytes(), **extra)
            except (ClientError, BotoCoreError, OSError) as exc:
                if refused is None:
                    raise
                refused[key] = str(exc)
                continue
            keys.append(key)
        return keys

    def records(self) -> list[Record]:
        """Every record, including two for one key (an object uploaded again is an image of its own)."""
        from packshot.adapters.records import RecordsTable

        return list(RecordsTable(self.records_table, self.client("dynamodb")).scan())

    def records_by_key(self) -> dict[str, Record]:
        """The newest record of each key (by creation time): what a report row per uploaded file shows."""
        ordered = sorted((r for r in self.records() if "source_key" in r), key=lambda r: str(r.get("created_at")))
        return {r["source_key"]: r for r in ordered}

    def progress(self, keys: list[str], *, flow: bool = True) -> Progress:
        """Records by status for the keys; with flow, also running executions, queued and dead letters."""
        from packshot.adapters.records import RecordsTable

        # Polled twice a second while a batch runs: the fields it needs, not whole records (moto's DynamoDB
        # serialises every attribute of every item it returns, on the embedded AWS's one core).
        table = RecordsTable(self.records_table, self.client("dynamodb"))
        rows = [r for r in table.scan(("source_key", "status", "created_at")) if "source_key" in r]
        # The newest record of each key, as in records_by_key (an object uploaded again is an image of its own);
        # every waiting record parks an execution, an older one of the same key too.
        records = {r["source_key"]: r for r in sorted(rows, key=lambda r: str(r.get("created_at")))}
        progress = Progress(total=len(keys), parked=sum(r.get("status") in WAITING for r in rows))
        for key in keys:
            status = records.get(key, {}).get("status", NOT_STARTED)
            progress.by_status[status] = progress.by_status.get(status, 0) + 1
        if flow:
            self._read_flow(progress)
        return progress

    def _read_flow(self, progress: Progress) -> None:
        sfn = self.client("stepfunctions")
        running = sfn.list_executions(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING")
        progress.running_executions = len(running.get("executions", []))
        sqs = self.client("sqs")
        dead_letter_arns = {self.stack.resolve(q.get("Properties", {}).get("RedrivePolicy", {})).get(
            "deadLetterTargetArn") for q in self.stack.of_type("AWS::SQS::Queue").values()}
        for logical in self.stack.of_type("AWS::SQS::Queue"):
            attrs = sqs.get_queue_attributes(QueueUrl=self.physical(logical),
                                             AttributeNames=["ApproximateNumberOfMessages",
                                                             "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            count = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            if self.physical(logical, "Arn") in dead_letter_arns:
                progress.dead_letters += count
            else:
                progress.queued_messages += count

    def wait(self, keys: list[str], *, timeout_s: float = 900, on_progress: Callable[[Progress], None] | None = None,
             interval_s: float = 0.5) -> Progress:
        """Wait until every key has a terminal record and nothing is running or queued (or dead-lettered).

        A record waiting for review counts as settled: its execution is parked on a task token by design.
        Each poll reads the records (one request); executions and queues (five more) only when the records
        say the batch may have settled, and every few polls so dead letters and the progress line stay current:
        on the embedded AWS every request costs the core moto shares with the pollers.
        """
        deadline = time.monotonic() + timeout_s
        polls = 0
        flow = Progress(total=len(keys))
        while True:
            progress = self.progress(keys, flow=False)
            if progress.finished + progress.waiting == progress.total or polls % 6 == 0:
                self._read_flow(progress)
                flow = progress
            else:
                progress.running_executions = flow.running_executions
                progress.queued_messages, progress.dead_letters = flow.queued_messages, flow.dead_letters
            polls += 1
            if on_progress:
                on_progress(progress)
            # Each waiting record parks exactly one execution (an earlier batch's too); anything beyond is moving.
            settled = progress.running_executions <= progress.parked and progress.queued_messages == 0
            if flow is progress and settled and (
                    progress.finished + progress.waiting == progress.total or progress.dead_letters):
                return progress
            if time.monotonic() > deadline:
                return progress
            time.sleep(interval_s)

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        out: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn):
            out.extend(page["executions"])
        return out


def object_key(path: Path, base: Path) -> str:
    """A file's S3 key: its path below base; name bytes that are not UTF-8 (old card readers) written as \\xNN."""
    return os.fsencode(path.relative_to(base).as_posix()).decode("utf-8", "backslashreplace")


def _without_tls_only(document: dict[str, Any]) -> dict[str, Any]:
    """Drop TLS-only denials: the embedded AWS speaks plain HTTP on loopback, and moto enforces them (403)."""
    keep = [s for s in document.get("Statement", [])
            if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))]
    return {**document, "Statement": keep}


@contextmanager
def embedded_aws(**kwargs: Any) -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws(**kwargs)
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()

"""The wiring every Lambda handler shares: settings, adapters and Powertools, built once at module scope.

A handler (functions/<stage>/app.py) calls `stage(...)` at import, which is Lambda's init phase: the settings are
read and checked, the boto3 clients and adapters made, the Logger, Metrics and (unless the stage opts out) Tracer
set up. Its `lambda_handler` is then a few lines under `@the_stage.handler(...)`, which applies the Powertools
decorators in one order for every function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

# Importing Tracer is cheap; making one imports the X-Ray SDK (see `stage(tracing=...)`).
from aws_lambda_powertools import Logger, Metrics, Tracer

from packshot.adapters.records import RecordsTable
from packshot.adapters.review import ReviewTable
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.errors import ConfigurationError
from packshot.observability import emit_stage_metrics

# The CloudWatch namespace of every custom metric: what the template's alarms and dashboard read.
NAMESPACE = "Packshot"
# Settings naming a bucket: a stage that needs one gets an S3 store.
_BUCKETS = frozenset({"input_bucket", "work_bucket", "export_bucket"})

Handler = TypeVar("Handler", bound=Callable[..., Any])
_Adapter = TypeVar("_Adapter")


@dataclass(frozen=True)
class Stage:
    """What one function needs, made at its cold start: its settings, adapters and Powertools utilities.

    `store`, `records` and `reviews` exist when the stage's `needs` named a bucket, the records table or the
    review table; asking for one it did not name is a ConfigurationError (a wiring mistake, caught by any test
    that invokes the handler), never a client for a resource the function has no permission on.
    """

    name: str
    settings: Settings
    logger: Logger
    metrics: Metrics
    tracer: Tracer | None
    built_store: S3Store | None = None
    built_records: RecordsTable | None = None
    built_reviews: ReviewTable | None = None

    @property
    def store(self) -> S3Store:
        return self._adapter(self.built_store, "a bucket")

    @property
    def records(self) -> RecordsTable:
        return self._adapter(self.built_records, "records_table")

    @property
    def reviews(self) -> ReviewTable:
        return self._adapter(self.built_reviews, "review_table")

    def _adapter(self, adapter: _Adapter | None, need: str) -> _Adapter:
        if adapter is None:
            raise ConfigurationError(f"the {self.name} stage uses {need}: name it in bootstrap.stage(needs=...)")
        return adapter

    def handler(self, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """The Powertools decorators, outermost first: metrics (flushed even when the handler raises), the
        tracer's handler segment when the stage traces, the logger's Lambda context and correlation id (a
        JMESPath into the event). A decorator of the function's own, such as `@idempotent`, goes below this
        one, so a replayed result skips the work and its metrics alike."""

        def decorate(function: Handler) -> Handler:
            wrapped: Callable[..., Any] = self.logger.inject_lambda_context(
                function, correlation_id_path=correlation_id_path)
            if self.tracer is not None:
                wrapped = self.tracer.capture_lambda_handler(wrapped)
            return cast(Handler, self.metrics.log_metrics(wrapped))

        return decorate

    def finished(self, state: Mapping[str, Any], started: float) -> dict[str, Any]:
        """The stage's metrics and its one log line for `state` (started = time.perf_counter() at the handler's
        start), then the state as the plain dict Lambda returns."""
        emit_stage_metrics(self.metrics, self.name, state, started)
        return dict(state)


def stage(name: str, needs: Iterable[str] = (), *, tracing: bool = True, stage_dimension: bool = True,
          environ: Mapping[str, str] | None = None) -> Stage:
    """Build what the function `name` needs, failing at cold start when a setting in `needs` is missing.

    needs: Settings fields the function cannot run without (their environment variables must be set); they also
    decide which adapters are made. tracing=False makes no Powertools Tracer, so the X-Ray SDK is never imported
    (its sampler builds a botocore client at import: 0.3-0.5 s of a cold start); Lambda's active tracing still
    records the function's init and invocation. stage_dimension: every metric carries Stage=name, as the
    dashboard reads them; functions whose metrics the alarms read by `service` alone set it False.
    """
    needed = tuple(needs)
    settings = Settings.from_env(environ)
    settings.require(*needed)
    metrics = Metrics(namespace=NAMESPACE)
    # Powertools keeps metrics and dimensions per process, shared by every Metrics(): on Lambda that is this one
    # function's; where several handlers load in one process (the tests), the stage built last sets them whole.
    metrics.clear_default_dimensions()
    metrics.clear_metrics()
    if stage_dimension:
        metrics.set_default_dimensions(Stage=name)
    return Stage(
        name=name,
        settings=settings,
        logger=Logger(),
        metrics=metrics,
        tracer=Tracer() if tracing else None,
        built_store=S3Store() if _BUCKETS.intersection(needed) else None,
        built_records=RecordsTable(settings.records_table) if "records_table" in needed else None,
        built_reviews=ReviewTable(settings.review_table) if "review_table" in needed else None,
    )

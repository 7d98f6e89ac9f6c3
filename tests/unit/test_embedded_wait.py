"""How the embedded runner decides a batch has settled, with the AWS calls replaced by a scripted history."""

from __future__ import annotations

from packshot.local.embedded import EmbeddedAws, Progress


class Scripted(EmbeddedAws):
    """wait() over canned polls: each poll's records, and the executions/queues read with them."""

    def __init__(self, polls: list[tuple[dict[str, int], int, int]], running: int) -> None:
        self.polls, self.running, self.flow_reads, self.record_reads = polls, running, 0, 0

    def progress(self, keys: list[str], *, flow: bool = True) -> Progress:
        statuses, parked, _ = self.polls[min(self.record_reads, len(self.polls) - 1)]
        self.record_reads += 1
        return Progress(total=len(keys), by_status=dict(statuses), parked=parked)

    def _read_flow(self, progress: Progress) -> None:
        self.flow_reads += 1
        progress.running_executions = self.running


def test_an_earlier_batch_parked_on_review_does_not_keep_a_finished_batch_waiting() -> None:
    # Two photos exported; one execution still running, parked on a review of an earlier upload.
    aws = Scripted([({"exported": 2}, 1, 0)], running=1)
    progress = aws.wait(["a.jpg", "b.jpg"], timeout_s=5, interval_s=0.01)
    assert progress.finished == 2 and aws.record_reads == 1


def test_executions_and_queues_are_read_only_when_the_records_say_settled_and_now_and_then() -> None:
    moving = ({"processing": 2}, 0, 0)
    aws = Scripted([moving] * 12 + [({"exported": 2}, 0, 0)], running=0)
    aws.wait(["a.jpg", "b.jpg"], timeout_s=5, interval_s=0.001)
    assert aws.record_reads == 13
    assert aws.flow_reads == 3  # polls 0 and 6 (dead letters, the progress line) and the settling one

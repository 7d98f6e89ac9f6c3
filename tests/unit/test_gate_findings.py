"""What a reviewer is shown of the gate's stored verdict (the review page and report.html use the same function)."""

from __future__ import annotations

from packshot.gate import OVERLAY_COLOURS, SIGNAL_MEANINGS, gate_findings


def test_each_fired_signal_comes_with_its_meaning_its_overlay_colour_and_its_boxes() -> None:
    record = {"confidence": 0.41237, "passes": False, "min_confidence": 0.95, "fired": ["closed_off", "shadow_kept"],
              "signals": {"closed_off": 0.2, "shadow_kept": 0.05},
              "regions": {"closed_off": [[10, 20, 30, 40], [50, 60, 70, 80]], "backdrop_inside": [[1, 2, 3, 4]]}}
    shown = gate_findings(record)
    assert (shown["confidence"], shown["min_confidence"], shown["passes"]) == (0.412, 0.95, False)
    closed, shadow = shown["fired"]
    assert closed == {"signal": "closed_off", "meaning": SIGNAL_MEANINGS["closed_off"],
                      "colour": "rgb({}, {}, {})".format(*OVERLAY_COLOURS["closed_off"][:3]),
                      "regions": [[10, 20, 30, 40], [50, 60, 70, 80]]}
    assert shadow["signal"] == "shadow_kept" and shadow["regions"] == []  # fired, no box stored
    # A region of a signal that did not fire is not listed as a finding.
    assert [f["signal"] for f in shown["fired"]] == ["closed_off", "shadow_kept"]


def test_a_verdict_that_passed_has_no_findings_and_a_name_we_do_not_know_is_not_shown() -> None:
    assert gate_findings({"confidence": 0.99, "passes": True, "min_confidence": 0.95, "fired": []})["fired"] == []
    unknown = gate_findings({"confidence": 0.2, "passes": False, "fired": ["<script>"]})
    assert unknown["fired"] == []

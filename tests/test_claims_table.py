"""The claim table as readers see it: badges, rules once, no Python reprs."""

import pytest

from derivlearn.claims import VERDICTS, Claim, badge, to_markdown, to_records


def test_every_verdict_has_a_badge_and_a_bad_one_is_refused():
    assert [badge(v) for v in VERDICTS] == ["{bdg-success}`confirmed`", "{bdg-warning}`partly confirmed`",
                                            "{bdg-danger}`not confirmed`", "{bdg-muted}`not tested`"]
    with pytest.raises(ValueError, match="verdict"):
        badge("maybe")


def test_the_table_has_one_row_per_claim_and_the_rules_once_in_a_dropdown():
    claims = [Claim("a | b", "p", "o", "confirmed", "rule one"), Claim("c", "p", "o", "not tested")]
    text = to_markdown(claims)
    lines = text.splitlines()
    assert lines[0].startswith(":::{dropdown}") and lines[1] == "- **1. a | b.** rule one"  # rules first
    head = lines.index("| verdict | claim (the paper) | ours |")
    assert lines[head + 2] == "| {bdg-success}`confirmed` | 1. a \\| b (*p*) | o |"
    assert lines[head + 3].startswith("| {bdg-muted}`not tested` | 2. c")
    assert text.count("rule one") == 1
    assert to_records(claims)[0] == {"claim": "a | b", "paper": "p", "ours": "o", "verdict": "confirmed",
                                     "rule": "rule one"}


def test_a_claims_detail_goes_to_a_dropdown_under_the_table_numbered_like_its_row():
    claims = [Claim("a", "p", "one line", "confirmed", "rule", "what it rests on"),
              Claim("b", "p", "o", "not confirmed")]
    lines = to_markdown(claims, details_title="More").splitlines()
    row = lines.index("| {bdg-success}`confirmed` | 1. a (*p*) | one line |")
    assert lines[row + 2:] == ["", ":::", "", ":::{dropdown} More", "- **1. a.** what it rests on", ":::"]
    # the table sits in a block that turns each row into a card on a phone
    head = lines.index("| verdict | claim (the paper) | ours |")
    assert lines[head - 2] == ":::{div} phone-cards claim-cards"
    # the row's own number, even where an earlier claim has no detail (no renumbering)
    later = to_markdown([Claim("b", "p", "o", "not confirmed"), claims[0]]).splitlines()
    assert "- **2. a.** what it rests on" in later
    recs = to_records(claims)
    assert recs[0]["detail"] == "what it rests on" and "detail" not in recs[1]  # only where there is one
    assert "dropdown} More on each result" not in to_markdown(claims[1:])  # none without details

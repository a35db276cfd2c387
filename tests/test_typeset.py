"""No line break inside a unit (derivlearn.typeset)."""

import pytest

from derivlearn.typeset import NBSP, WORD_JOINER, keep_together, plain, typeset


@pytest.mark.parametrize("text, kept", [
    ("wins at d = 4–8", f"wins at d{NBSP}={NBSP}4–{WORD_JOINER}8"),
    ("R² ≥ 0.99 and R² 0.9", f"R²{NBSP}≥{NBSP}0.99 and R²{NBSP}0.9"),
    ("95 % interval 9–12", f"95{NBSP}% interval 9–{WORD_JOINER}12"),
    ("184 → 15", f"184{NBSP}→{NBSP}15"),
    ("network 2 × 16", f"network 2{NBSP}×{NBSP}16"),
    ("N = 300 and r = 2", f"N{NBSP}={NBSP}300 and r{NBSP}={NBSP}2"),
    ("a cap of 100 000 epochs", f"a cap of 100{NBSP}000 epochs"),
    ("1 000 000", f"1{NBSP}000{NBSP}000"),
    ("the paper's 100 000, and 20 000.", f"the paper's 100{NBSP}000, and 20{NBSP}000."),
])
def test_units_are_kept_together(text, kept):
    assert keep_together(text) == kept
    assert plain(kept) == text


@pytest.mark.parametrize("text", [
    "`d = 4` in code", "$d = 4$ in maths", "{ref}`at d = 4 <label>`", "[a link](page.html?d = 4)",
    '<span title="d = 4">', "an en dash – between words", "d=4 without spaces",
    "16, 20 and 21", "at 0.99 100 runs", "1.5 300",
])
def test_code_maths_links_tags_and_other_text_are_left_alone(text):
    assert keep_together(text) == text


def test_typeset_decorates_a_markdown_function_and_is_idempotent():
    @typeset
    def f(d: int) -> str:
        return f"at d = {d}, 95 %"

    assert f(4) == f"at d{NBSP}={NBSP}4, 95{NBSP}%" and keep_together(f(4)) == f(4)
    assert f.__name__ == "f"


def test_a_less_than_sign_is_text_not_a_tag():
    assert keep_together("for d < 4 at R² ≥ 0.9 -> x") == f"for d{NBSP}<{NBSP}4 at R²{NBSP}≥{NBSP}0.9 -> x"

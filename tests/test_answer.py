"""The chapter's answer under its question (derivlearn.answer)."""

from derivlearn import answer


def test_paste_reads_the_glued_answer_as_myst():
    assert answer.paste() == "```{glue:md} answer\n:format: myst\n```"
    assert answer.paste("k").startswith("```{glue:md} k\n")


def test_show_prints_outside_a_notebook(capsys):
    answer.show("**What we found.** Nothing yet.")
    assert capsys.readouterr().out == "**What we found.** Nothing yet.\n"

"""The DINO study module: configuration checks, run plan, data layout and the claim logic."""

from __future__ import annotations

import pandas as pd
import pytest

from derivlearn.studies import dino


def test_run_plan_covers_every_cell_and_adds_sketching_rows():
    cfg = dino.DinoConfig.from_profile("smoke")
    configs = dino.run_configs(cfg)
    n_base = len(cfg.problems) * len(cfg.networks) * len(cfg.losses) * len(cfg.sizes)
    n_sketch = len(cfg.sketch_problems) * len(cfg.networks) * len(dino.EXTRA_LOSSES) * len(cfg.sizes)
    assert len(configs) == n_base + n_sketch + len(cfg.map_problems)
    assert [c["problem"] for c in configs if c.get("kind") == "map"] == list(cfg.map_problems)
    assert len({tuple(sorted(c.items())) for c in configs}) == len(configs)
    test, as_idx, pool = dino.split(configs[0])
    assert len(set(test) | set(as_idx) | set(pool)) == cfg.n_samples  # disjoint, covers the data set


@pytest.mark.parametrize(("override", "name"), [({"as_rank": 60}, "as_rank"), ({"mesh": 8}, "as_rank"),
                                                ({"sizes": (16, 8)}, "sizes"), ({"problems": ("heat",)},
                                                                                "problems")])
def test_bad_configuration_names_the_parameter(override, name):
    with pytest.raises(ValueError, match=name):
        dino.DinoConfig.from_profile("smoke", **override)


def _frame(h1_best, generic_h1, l2_small):
    rows = []
    for p in ("poisson", "reaction_diffusion", "crd"):
        for net in dino.NETWORKS:
            for loss in dino.LOSSES:
                for n in (16, 4096):
                    h1 = h1_best[p] if (net, loss, n) == ("dipnet_100_50", "h1", 4096) else \
                        generic_h1 if net == "generic" else 0.1
                    l2 = l2_small + (0.01 if loss != "l2" else 0) if n == 16 else 0.9
                    rows.append({"status": "ok", "problem": p, "network": net, "loss": loss, "n_train": n,
                                 "seconds": 1.0, "l2_accuracy": l2, "l2_accuracy_code": l2,
                                 "h1_accuracy": h1, "h1_accuracy_code": h1, "reduced_h1_accuracy": h1,
                                 "reduced_h1_accuracy_code": h1})
    return pd.DataFrame(rows)


def test_claims_follow_the_numbers():
    cfg = dino.DinoConfig.from_profile("full", sketch_problems=(), sizes=(16, 4096))
    good = dino.summarize(cfg, _frame(dino.PAPER_H1, -0.2, 0.5))[1]
    assert [c.verdict for c in good] == ["confirmed"] * 3
    bad = dino.summarize(cfg, _frame({p: 0.0 for p in dino.PAPER_H1}, 0.3, 0.5))[1]
    assert [c.verdict for c in bad][:2] == ["not confirmed", "not confirmed"]

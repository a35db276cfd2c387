"""Derivative-informed neural operators (DINO, seed 002_): networks, bases, losses and metrics.

* :mod:`~derivlearn.dino.networks` — Generic, DIPNet 50-50 and DIPNet 100-50;
* :mod:`~derivlearn.dino.jacobians` — network Jacobian products from :mod:`torch.func`;
* :mod:`~derivlearn.dino.bases` — active-subspace input basis, POD and E[JJᵀ] output bases;
* :mod:`~derivlearn.dino.losses` — L2, H1, reduced H1, reduced H1 MS and the sketched losses;
* :mod:`~derivlearn.dino.metrics` — L2, H1 and reduced-H1 accuracies (paper and code forms).
"""

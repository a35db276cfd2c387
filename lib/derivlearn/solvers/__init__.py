"""Differentiable solvers: a sparse linear solve with exact derivatives of any order
(:mod:`derivlearn.solvers.sparse`) and the parameterized portal-frame FE model of the seed
paper (:mod:`derivlearn.solvers.frame`)."""

"""Neural-network surrogates: MLP ensembles, Taylor-mode derivatives, Sobolev loss, training."""

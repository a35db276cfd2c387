"""Alternative derivative-informed models: GradINN (arXiv 2409.01914) and its baselines."""

"""One module per book chapter: its config, its run function, its summary and claims."""

"""Building blocks of the training CLIs: pair data, run directories and checkpoints."""

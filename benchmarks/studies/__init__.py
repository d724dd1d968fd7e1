"""Studies beside the bench: questions about the harness itself, answered by running it."""

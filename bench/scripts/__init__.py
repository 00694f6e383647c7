"""Scripts written from scratch to compare the worker with: what people write by hand."""

"""Thin click wrappers, one per DVC stage: parse arguments, load params, call one library function."""

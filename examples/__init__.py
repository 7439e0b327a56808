"""Small apps wrapped by gatekeeper, one per framework; each runs under examples/policy.yaml.

Run them from the repository root (so `examples` is importable), with GATEKEEPER_SECRET
set. See docs/developers.md for what each one shows.
"""

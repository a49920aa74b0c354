"""Peers in the benchmark (`python -m bench --peers`): AuthX, fastapi-users and the Express
tutorial, each installed apart from authsvc, measured beside authsvc in the same rounds.

The peer apps in this package run in the peers' own virtualenvs: they import nothing from
authsvc, and nothing in this package imports authsvc at module level but the runner's modules.
"""

"""The bare route every figure of the peers run is divided by: bench/ceiling.py's FastAPI app
without its logging, under the same uvicorn options as the Python peers (no access log).

Run as `python -m bench.peers.bare --port P` (authsvc's interpreter).
"""

from __future__ import annotations

from bench.ceiling import bare_app
from bench.peers.serve import serve

if __name__ == "__main__":
    serve(bare_app())

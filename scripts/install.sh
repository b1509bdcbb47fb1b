#!/usr/bin/env bash
# Install ehrfeat with every extra used by the tests into the active Python environment.
# torch is pinned first so that pip takes the CPU build and never pulls CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev]"

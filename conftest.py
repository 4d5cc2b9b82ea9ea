"""Test-session settings shared by tests/ and the tutorial notebooks."""

import os
import sys

# Notebooks run in their fast mode under pytest; they inherit this environment.
os.environ.setdefault("KERASFLOWS_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "tests"))

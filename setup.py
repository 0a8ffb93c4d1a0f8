"""The one compiled module: the model stages' text preparation (filters/tokens.py says why).

Everything else is in pyproject.toml; ``pip install -e .`` (make setup) builds it in place.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("filters._tokens", ["filters/_tokens.c"])])

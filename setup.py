"""The compiled modules: the model stages' text preparation (filters/tokens.py says why) and the Gopher
repetition rules' n-gram counts (filters/text_units.py, ``TokenNgrams``).

Everything else is in pyproject.toml; ``pip install -e .`` (make setup) builds them in place.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("filters._tokens", ["filters/_tokens.c"]),
        Extension("filters._ngrams", ["filters/_ngrams.c"]),
    ]
)

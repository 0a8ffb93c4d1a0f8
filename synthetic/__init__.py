"""Synthetic test data: a realistic corpus with planted truth and a hostile corpus of bad input.

``generate`` is the command line (``corpus synth``); ``corpus`` (with ``documents``, ``material``,
``vocabulary``, ``truth`` and ``writers``) builds the realistic corpus; ``hostile`` the bad-input one.
"""

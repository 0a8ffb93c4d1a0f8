"""The scores our recognizers give, in one place so that their relative order can be read and tuned.

presidio's convention: a checksum-validated match scores 1.0; each entity's ``min_score``
(0.5 by default) decides which findings are acted on.
"""

VALIDATED = 1.0
STRONG = 0.75
MEDIUM = 0.55
WEAK = 0.35
CONTEXT_BOOST = 0.35
NER_SCORE = 0.85
GIVEN_NAME_SCORE = 0.6  # a listed given name spaCy did not tag (below spaCy's places: Florence, Victoria)
ZH_NAME_SCORE = 0.6
ZH_PLACE_SCORE = 0.6  # a Chinese place name alone
ZH_ADDRESS_SCORE = 0.85  # several place parts or a house number

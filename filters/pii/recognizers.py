"""presidio recognizers for the pattern entities: our regex+scorer pairs, presidio's IBAN and bitcoin,
detect-secrets' key and token patterns.

None uses lemma context, so findings do not depend on the NLP pipeline that ran.
"""

from __future__ import annotations

from collections.abc import Callable

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CryptoRecognizer, IbanRecognizer

from filters.pii.scorers import (
    CARD_RE,
    CN_ID_RE,
    EMAIL_RE,
    ETH_RE,
    IPV4_RE,
    IPV6_RE,
    PHONE_RE,
    SSN_RE,
    card_score,
    cn_id_score,
    email_score,
    eth_score,
    ip_score,
    phone_score,
    ssn_score,
)

Scorer = Callable[[str, regex.Match], float]


class RegexRecognizer(EntityRecognizer):
    """A presidio recognizer: one compiled regex, and a scorer that validates each match."""

    def __init__(self, entity: str, pattern: regex.Pattern, scorer: Scorer, language: str):
        self.pattern = pattern
        self.scorer = scorer
        super().__init__(supported_entities=[entity], name=f"{entity}:{scorer.__name__}", supported_language=language)

    def load(self) -> None:
        """Nothing to load: the regex is compiled at import."""
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        """Every match the scorer gives a positive score, with that score."""
        results = []
        for m in self.pattern.finditer(text):
            score = self.scorer(text, m)
            if score > 0:
                results.append(
                    RecognizerResult(
                        self.supported_entities[0],
                        m.start(),
                        m.end(),
                        score,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results


# IBAN: presidio's own recognizer (mod-97 check) with ASCII boundaries instead of \b, so an
# IBAN right after Chinese text is found, and case-insensitive (lowercase keeps score 0.5).
_IBAN_PATTERN = IbanRecognizer.PATTERNS[0]
_IBAN_REGEX = r"(?<![A-Za-z0-9_])" + _IBAN_PATTERN.regex[2:-2] + r"(?![A-Za-z0-9_])"
_IBAN_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE


# detect-secrets' plugins for keys and tokens whose shape says what they are (the library StarCoder's PII
# pipeline ran on code); its keyword and entropy plugins are left out: they flag ordinary identifiers
SECRET_PLUGINS = (
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TwilioKeyDetector",
)
SECRET_SCORE = 0.9
SECRET_GROUP_CHARS = 16  # a pattern's group this long is the secret itself, not a prefix
_KEY_END = regex.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


class SecretRecognizer(EntityRecognizer):
    """API keys, access tokens and private keys with detect-secrets' patterns (``SECRET_PLUGINS``): the
    secret itself (a pattern's group where it has one, such as the value after ``aws_secret_key =``); a
    private key from its BEGIN line to its END line (or the end of the text: a cut key is still a key)."""

    def __init__(self, language: str):
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

        plugins = [c for c in get_mapping_from_secret_type_to_class().values() if c.__name__ in SECRET_PLUGINS]
        self.secret_patterns = [  # (compiled pattern, whether it starts a private key)
            (pattern, plugin.__name__ == "PrivateKeyDetector")
            for plugin in sorted(plugins, key=lambda c: c.__name__)
            for pattern in plugin.denylist
        ]
        super().__init__(supported_entities=["SECRET"], name="SECRET:detect_secrets", supported_language=language)

    def load(self) -> None:
        """Nothing to load: detect-secrets compiles its patterns at import."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None):
        results = []
        for pattern, private_key in self.secret_patterns:
            for m in pattern.finditer(text):
                start, end = _secret_span(m)
                if private_key:
                    start = text.rfind("-----", 0, start) if text[max(0, start - 5) : start] == "-----" else start
                    closing = _KEY_END.search(text, m.end())
                    end = closing.end() if closing else len(text)
                results.append(RecognizerResult("SECRET", start, end, SECRET_SCORE))
        return results


def _secret_span(m) -> tuple[int, int]:
    """The secret in a match: its longest group when that is key-sized (the value after ``aws_secret_key =``),
    else the whole match (a group of GitHub's pattern is only the ``ghp`` prefix)."""
    groups = [m.span(i) for i in range(1, m.re.groups + 1) if m.group(i)]
    longest = max(groups, key=lambda span: span[1] - span[0], default=None)
    return longest if longest and longest[1] - longest[0] >= SECRET_GROUP_CHARS else m.span()


def pattern_recognizers(language: str) -> list[EntityRecognizer]:
    """Our pattern recognizers for one presidio language key."""
    from presidio_analyzer import Pattern

    iban = IbanRecognizer(
        patterns=[Pattern("IBAN", _IBAN_REGEX, 0.5)],
        supported_language=language,
        supported_entity="IBAN",
        regex_flags=_IBAN_FLAGS,
    )
    bitcoin = CryptoRecognizer(supported_language=language, supported_entity="CRYPTO")
    for recognizer in (iban, bitcoin):
        recognizer.context = []  # no lemma context: findings must not depend on the NLP pipeline
    return [
        RegexRecognizer("EMAIL", EMAIL_RE, email_score, language),
        RegexRecognizer("PHONE", PHONE_RE, phone_score, language),
        RegexRecognizer("IP", IPV4_RE, ip_score, language),
        RegexRecognizer("IP", IPV6_RE, ip_score, language),
        RegexRecognizer("CREDIT_CARD", CARD_RE, card_score, language),
        RegexRecognizer("US_SSN", SSN_RE, ssn_score, language),
        RegexRecognizer("CRYPTO", ETH_RE, eth_score, language),
        RegexRecognizer("CN_ID", CN_ID_RE, cn_id_score, language),
        iban,
        bitcoin,
        SecretRecognizer(language),
    ]

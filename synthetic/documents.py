"""Documents of each source (web pages, wiki articles, book chapters, emails, spam) with what they plant.

A ``Doc`` keeps its lines together with the indexes of its boilerplate lines and the spans of its
PII, so the truth about a document is known exactly when it is written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from synthetic.material import (
    BOILERPLATE,
    FIRST_NAMES,
    GREETINGS,
    HEADINGS,
    LAST_NAMES,
    PII_TEMPLATES,
    SPAM_ITEMS,
    SPAM_LINES,
    between,
    pick,
    pii_value,
)
from synthetic.vocabulary import CJK_LANGS, Vocabulary, units

SHINGLE_SIZE = 5

# source -> (share of documents, language weights, paragraphs per doc, sentences per paragraph)
SOURCE_SPECS: dict[str, tuple[float, dict[str, float], tuple[int, int], tuple[int, int]]] = {
    "web": (0.45, {"en": 45, "zh": 15, "de": 12, "fr": 10, "ja": 6, "ru": 6, "es": 6}, (2, 7), (2, 5)),
    "wiki": (0.20, {"en": 40, "zh": 20, "de": 10, "fr": 10, "ja": 10, "ru": 10}, (3, 9), (3, 6)),
    "books": (0.10, {"en": 60, "zh": 40}, (8, 20), (4, 8)),
    "email": (0.25, {"en": 85, "de": 5, "fr": 5, "zh": 5}, (1, 3), (1, 4)),
}


@dataclass
class Doc:
    """A document as lines, with the line indexes of its boilerplate and the spans of its PII."""

    lang: str
    lines: list[str]
    boilerplate: list[int] = field(default_factory=list)  # indexes of boilerplate lines
    pii: list[tuple[int, int, int, str, str]] = field(default_factory=list)  # line, start, end, type, value
    spam: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def pii_spans(self) -> list[dict[str, Any]]:
        starts, offset = [], 0
        for line in self.lines:
            starts.append(offset)
            offset += len(line) + 1
        return [
            {"type": kind, "start": starts[i] + a, "end": starts[i] + b, "value": value}
            for i, a, b, kind, value in self.pii
        ]


def shingle_jaccard(a: str, b: str, lang: str, n: int = SHINGLE_SIZE) -> float:
    """Jaccard similarity of the sets of n-grams of units (words; characters for zh/ja)."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        seq = units(text, lang)
        return set(zip(*(seq[i:] for i in range(n)))) if len(seq) >= n else {tuple(seq)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


class Composer:
    """Builds documents of each source from the vocabulary with one seeded RNG."""

    def __init__(self, vocab: Vocabulary, rng: random.Random, pii_rate: float, boilerplate_rate: float):
        self.vocab, self.rng = vocab, rng
        self.pii_rate, self.boilerplate_rate = pii_rate, boilerplate_rate

    def paragraph(self, lang: str, sentences: tuple[int, int]) -> str:
        picked = self.rng.choices(self.vocab.sentences[lang], k=between(self.rng, *sentences))
        return ("" if lang in CJK_LANGS else " ").join(picked)

    def title(self, lang: str) -> str:
        sentence = pick(self.rng, self.vocab.sentences[lang])
        if lang in CJK_LANGS:
            return sentence[:24].rstrip("。，,. ")
        return " ".join(sentence.split()[:8]).rstrip(" .,;:«(-—")

    def body(self, lang: str, source: str) -> list[str]:
        _, _, paragraphs, sentences = SOURCE_SPECS[source]
        return [self.paragraph(lang, sentences) for _ in range(between(self.rng, *paragraphs))]

    def document(self, source: str, lang: str) -> Doc:
        rng = self.rng
        if source == "email":
            return self.email(lang)
        doc = Doc(lang, [])
        if source == "books":
            doc.lines = [HEADINGS[lang].format(rng.randint(1, 120)), *self.body(lang, source)]
        elif source == "wiki":
            doc.lines = [self.title(lang)]
            for index, paragraph in enumerate(self.body(lang, source)):
                if index and rng.random() < 0.25:
                    doc.lines.append(f"== {self.title(lang)} ==")
                doc.lines.append(paragraph)
        else:
            doc.lines = [self.title(lang), *self.body(lang, source)]
            if rng.random() < self.boilerplate_rate:
                self.add_boilerplate(doc)
        if rng.random() < self.pii_rate:
            content = [i for i in range(len(doc.lines)) if i not in doc.boilerplate][1:]  # not the title
            for _ in range(rng.randint(1, 3)):
                self.add_pii(doc, rng.choice(content), rng.choice(sorted(PII_TEMPLATES["en"])))
        return doc

    def add_boilerplate(self, doc: Doc) -> None:
        head_size = self.rng.randint(1, 3)
        chosen = self.rng.sample(BOILERPLATE[doc.lang], head_size + self.rng.randint(1, 3))
        head, tail = chosen[:head_size], chosen[head_size:]
        doc.lines = head + doc.lines + tail
        doc.boilerplate = list(range(len(head))) + list(range(len(doc.lines) - len(tail), len(doc.lines)))

    def add_pii(
        self, doc: Doc, line: int, kind: str, template: str | None = None, separator: str | None = None
    ) -> None:
        """Append a sentence carrying a PII value to ``doc.lines[line]`` and record its span."""
        value = pii_value(kind, doc.lang, self.rng)
        template = template or pick(self.rng, PII_TEMPLATES[doc.lang][kind])
        if separator is None:
            separator = "" if doc.lang in CJK_LANGS or not doc.lines[line] else " "
        prefix = doc.lines[line] + separator + template[: template.index("{}")]
        doc.lines[line] = prefix + value + template[template.index("{}") + 2 :]
        doc.pii.append((line, len(prefix), len(prefix) + len(value), kind, value))

    def email(self, lang: str) -> Doc:
        rng = self.rng
        sender, recipient = (f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}" for _ in range(2))
        hello, bye = GREETINGS[lang]
        doc = Doc(
            lang,
            [
                "From: " + sender,
                "To: " + recipient,
                "Subject: " + self.title(lang),
                hello.format(recipient.split()[0]),
                *self.body(lang, "email"),
                bye,
                sender,
                "",
            ],
        )
        self.add_pii(doc, 0, "EMAIL_ADDRESS", "<{}>", separator=" ")
        self.add_pii(doc, 1, "EMAIL_ADDRESS", "<{}>", separator=" ")
        self.add_pii(doc, len(doc.lines) - 1, "PHONE_NUMBER", "Tel. {}")
        if rng.random() < self.pii_rate:
            self.add_pii(doc, rng.randrange(4, len(doc.lines) - 3), rng.choice(["CREDIT_CARD", "IP_ADDRESS"]))
        return doc

    def spam(self, lang: str) -> Doc:
        rng = self.rng
        lang = lang if lang in SPAM_LINES else "en"
        lines = []
        for _ in range(rng.randint(6, 25)):
            item = rng.choice(SPAM_ITEMS[lang])
            lines.append(
                rng.choice(SPAM_LINES[lang]).format(item=item, item_slug=item.replace(" ", "-"), n=rng.randint(1, 99))
            )
        if rng.random() < 0.5:
            lines.insert(rng.randrange(len(lines)), self.paragraph(lang, (1, 3)))
        return Doc(lang, lines, spam=True)

    def near_duplicate(self, doc: Doc, edit_rate: float) -> Doc:
        """A copy with ``edit_rate`` of its units replaced, deleted or followed by an inserted unit."""
        rng, words = self.rng, self.vocab.words[doc.lang]
        joiner = "" if doc.lang in CJK_LANGS else " "
        lines = [units(line, doc.lang) for line in doc.lines]
        positions = [(i, j) for i, line_units in enumerate(lines) for j in range(len(line_units))]
        for i, j in rng.sample(positions, max(1, round(edit_rate * len(positions)))):
            op = rng.random()
            if op < 0.6:
                lines[i][j] = rng.choice(words)
            elif op < 0.8:
                lines[i][j] = ""
            else:
                lines[i][j] += joiner + rng.choice(words)
        edited = (joiner.join(u for u in line_units if u) for line_units in lines)
        return Doc(doc.lang, [line for line in edited if line], spam=doc.spam)

"""NLTK's Snowball English stemmer, without importing NLTK.

``import nltk`` takes ~0.7 s (its package imports most of NLTK), which a one-query ``mqt search``
would pay for every word the index's stem table lacks: a misspelt word, a prefix's expansions, an
``OR``. The index is still stemmed by NLTK's ``EnglishStemmer`` (``analysis.warm_up``); the query
side stems with :func:`stem`, a copy of that class's ``stem`` method (NLTK 3.10,
``nltk/stem/snowball.py``; the Snowball English algorithm,
https://snowballstem.org/algorithms/english/stemmer.html) with the class scaffolding removed and
the rules unchanged, quirks included (they are NLTK's, and the index was stemmed with them).
``tests/test_snowball.py`` checks that both give the same stem for every word of an index's
vocabulary and of a 235,000-word English word list.

Copyright (C) 2001-2025 NLTK Project (Peter Michael Stahl, Peter Ljunglöf, Lakhdar Benzahia...),
Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0), as NLTK itself.
"""

from __future__ import annotations

_VOWELS = "aeiouy"
_DOUBLE_CONSONANTS = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_LI_ENDING = "cdeghkmnrt"
_STEP0_SUFFIXES = ("'s'", "'s", "'")
_STEP1A_SUFFIXES = ("sses", "ied", "ies", "us", "ss", "s")
_STEP1B_SUFFIXES = ("eedly", "ingly", "edly", "eed", "ing", "ed")
_STEP2_SUFFIXES = ("ization", "ational", "fulness", "ousness", "iveness", "tional", "biliti",
                   "lessli", "entli", "ation", "alism", "aliti", "ousli", "iviti", "fulli", "enci",
                   "anci", "abli", "izer", "ator", "alli", "bli", "ogi", "li")
_STEP3_SUFFIXES = ("ational", "tional", "alize", "icate", "iciti", "ative", "ical", "ness", "ful")
_STEP4_SUFFIXES = ("ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate",
                   "iti", "ous", "ive", "ize", "ion", "al", "er", "ic")
_SPECIAL_WORDS = {
    "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "idly": "idl",
    "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl",
    "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos",
    "bias": "bias", "andes": "andes", "inning": "inning", "innings": "inning", "outing": "outing",
    "outings": "outing", "canning": "canning", "cannings": "canning", "herring": "herring",
    "herrings": "herring", "earring": "earring", "earrings": "earring", "proceed": "proceed",
    "proceeds": "proceed", "proceeded": "proceed", "proceeding": "proceed", "exceed": "exceed",
    "exceeds": "exceed", "exceeded": "exceed", "exceeding": "exceed", "succeed": "succeed",
    "succeeds": "succeed", "succeeded": "succeed", "succeeding": "succeed",
}


def _suffix_replace(original: str, old: str, new: str) -> str:
    return original[: -len(old)] + new


def _r1r2_standard(word: str, vowels: str) -> tuple[str, str]:
    """R1: the region after the first non-vowel following a vowel; R2: the same within R1."""
    r1 = ""
    r2 = ""
    for i in range(1, len(word)):
        if word[i] not in vowels and word[i - 1] in vowels:
            r1 = word[i + 1:]
            break
    for i in range(1, len(r1)):
        if r1[i] not in vowels and r1[i - 1] in vowels:
            r2 = r1[i + 1:]
            break
    return r1, r2


def _replace_regions(word: str, r1: str, r2: str, suffix: str, new: str,
                     r2_short: str = "") -> tuple[str, str, str]:
    """NLTK's repeated pattern: the suffix replaced in the word, and in R1/R2 when they hold it
    (else R1 empty, R2 ``r2_short``)."""
    word = _suffix_replace(word, suffix, new)
    r1 = _suffix_replace(r1, suffix, new) if len(r1) >= len(suffix) else ""
    r2 = _suffix_replace(r2, suffix, new) if len(r2) >= len(suffix) else r2_short
    return word, r1, r2


def stem(word: str) -> str:  # noqa: C901 - the algorithm's steps, kept as NLTK writes them
    """The Snowball English stem of ``word``, as ``nltk.stem.snowball.EnglishStemmer().stem``.

    >>> stem("crimes"), stem("policing"), stem("generously"), stem("news")
    ('crime', 'polic', 'generous', 'news')
    """
    vowels = _VOWELS
    word = word.lower()

    if len(word) <= 2:
        return word
    elif word in _SPECIAL_WORDS:
        return _SPECIAL_WORDS[word]

    # Map the different apostrophe characters to a single consistent one
    word = word.replace("\u2019", "\x27").replace("\u2018", "\x27").replace("\u201b", "\x27")
    if word.startswith("\x27"):
        word = word[1:]
    if word.startswith("y"):
        word = "".join(("Y", word[1:]))
    chars = list(word)
    for i in range(1, len(chars)):
        if chars[i - 1] in vowels and chars[i] == "y":
            chars[i] = "Y"
    word = "".join(chars)

    step1a_vowel_found = False
    step1b_vowel_found = False
    r1 = ""
    r2 = ""

    if word.startswith(("gener", "commun", "arsen")):
        if word.startswith(("gener", "arsen")):
            r1 = word[5:]
        else:
            r1 = word[6:]
        for i in range(1, len(r1)):
            if r1[i] not in vowels and r1[i - 1] in vowels:
                r2 = r1[i + 1:]
                break
    else:
        r1, r2 = _r1r2_standard(word, vowels)

    # STEP 0
    for suffix in _STEP0_SUFFIXES:
        if word.endswith(suffix):
            word = word[: -len(suffix)]
            r1 = r1[: -len(suffix)]
            r2 = r2[: -len(suffix)]
            break

    # STEP 1a
    for suffix in _STEP1A_SUFFIXES:
        if word.endswith(suffix):
            if suffix == "sses":
                word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
            elif suffix in ("ied", "ies"):
                if len(word[: -len(suffix)]) > 1:
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
                else:
                    word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
            elif suffix == "s":
                for letter in word[:-2]:
                    if letter in vowels:
                        step1a_vowel_found = True
                        break
                if step1a_vowel_found:
                    word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
            break

    # STEP 1b
    for suffix in _STEP1B_SUFFIXES:
        if word.endswith(suffix):
            if suffix in ("eed", "eedly"):
                if r1.endswith(suffix):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ee")
            else:
                for letter in word[: -len(suffix)]:
                    if letter in vowels:
                        step1b_vowel_found = True
                        break
                if step1b_vowel_found:
                    word = word[: -len(suffix)]
                    r1 = r1[: -len(suffix)]
                    r2 = r2[: -len(suffix)]
                    if word.endswith(("at", "bl", "iz")):
                        word = "".join((word, "e"))
                        r1 = "".join((r1, "e"))
                        if len(word) > 5 or len(r1) >= 3:
                            r2 = "".join((r2, "e"))
                    elif word.endswith(_DOUBLE_CONSONANTS):
                        word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
                    elif (
                        r1 == ""
                        and len(word) >= 3
                        and word[-1] not in vowels
                        and word[-1] not in "wxY"
                        and word[-2] in vowels
                        and word[-3] not in vowels
                    ) or (
                        r1 == ""
                        and len(word) == 2
                        and word[0] in vowels
                        and word[1] not in vowels
                    ):
                        word = "".join((word, "e"))
                        if len(r1) > 0:
                            r1 = "".join((r1, "e"))
                        if len(r2) > 0:
                            r2 = "".join((r2, "e"))
            break

    # STEP 1c
    if len(word) > 2 and word[-1] in "yY" and word[-2] not in vowels:
        word = "".join((word[:-1], "i"))
        r1 = "".join((r1[:-1], "i")) if len(r1) >= 1 else ""
        r2 = "".join((r2[:-1], "i")) if len(r2) >= 1 else ""

    # STEP 2
    for suffix in _STEP2_SUFFIXES:
        if word.endswith(suffix):
            if r1.endswith(suffix):
                if suffix == "tional":
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
                elif suffix in ("enci", "anci", "abli"):
                    word = "".join((word[:-1], "e"))
                    r1 = "".join((r1[:-1], "e")) if len(r1) >= 1 else ""
                    r2 = "".join((r2[:-1], "e")) if len(r2) >= 1 else ""
                elif suffix == "entli":
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
                elif suffix in ("izer", "ization"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ize")
                elif suffix in ("ational", "ation", "ator"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ate", r2_short="e")
                elif suffix in ("alism", "aliti", "alli"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "al")
                elif suffix == "fulness":
                    word, r1, r2 = word[:-4], r1[:-4], r2[:-4]
                elif suffix in ("ousli", "ousness"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ous")
                elif suffix in ("iveness", "iviti"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ive", r2_short="e")
                elif suffix in ("biliti", "bli"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ble")
                elif suffix == "ogi" and word[-4] == "l":
                    word, r1, r2 = word[:-1], r1[:-1], r2[:-1]
                elif suffix in ("fulli", "lessli"):
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
                elif suffix == "li" and word[-3] in _LI_ENDING:
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
            break

    # STEP 3
    for suffix in _STEP3_SUFFIXES:
        if word.endswith(suffix):
            if r1.endswith(suffix):
                if suffix == "tional":
                    word, r1, r2 = word[:-2], r1[:-2], r2[:-2]
                elif suffix == "ational":
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ate")
                elif suffix == "alize":
                    word, r1, r2 = word[:-3], r1[:-3], r2[:-3]
                elif suffix in ("icate", "iciti", "ical"):
                    word, r1, r2 = _replace_regions(word, r1, r2, suffix, "ic")
                elif suffix in ("ful", "ness"):
                    word = word[: -len(suffix)]
                    r1 = r1[: -len(suffix)]
                    r2 = r2[: -len(suffix)]
                elif suffix == "ative" and r2.endswith(suffix):
                    word, r1, r2 = word[:-5], r1[:-5], r2[:-5]
            break

    # STEP 4
    for suffix in _STEP4_SUFFIXES:
        if word.endswith(suffix):
            if r2.endswith(suffix):
                if suffix == "ion":
                    if word[-4] in "st":
                        word, r1, r2 = word[:-3], r1[:-3], r2[:-3]
                else:
                    word = word[: -len(suffix)]
                    r1 = r1[: -len(suffix)]
                    r2 = r2[: -len(suffix)]
            break

    # STEP 5
    if r2.endswith("l") and word[-2] == "l":
        word = word[:-1]
    elif r2.endswith("e"):
        word = word[:-1]
    elif r1.endswith("e"):
        if len(word) >= 4 and (
            word[-2] in vowels
            or word[-2] in "wxY"
            or word[-3] not in vowels
            or word[-4] in vowels
        ):
            word = word[:-1]

    return word.replace("Y", "y")

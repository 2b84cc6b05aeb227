"""Function-word lists for Latin-script languages, and the features the cleaners build on them.

Running text in any of these languages is 30-50 % function words; menus, tag lists, captions
and button labels are mostly nouns and names.  ``stopword_density`` takes the best-fitting
language, so a German paragraph is judged with German words and never needs a language flag.
The lists are data: the most frequent function words of each language (articles, pronouns,
prepositions, conjunctions, auxiliaries), lower case, written for this project.

>>> round(stopword_density("Der Hund ist in den Garten gelaufen und hat dort gespielt."), 2)
0.64
>>> best_language("Le chien est dans le jardin et il joue avec les enfants.")
'fr'
>>> stopword_density("Home News Sport Weather iPlayer Sounds")
0.0
"""
from __future__ import annotations

import re
from collections import Counter
from types import MappingProxyType
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

STOPWORDS: Dict[str, FrozenSet[str]] = {
    "en": frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
said says one two new also after its who been than into more their there which would about
""".split()),
    "de": frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes auch auf aus bei bin bis bist da damit dann das dass dem den denn der des dessen die
dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines
er es etwas euch euer für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich
ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder
jedes jene jetzt kann kein keine keinem keinen keiner können könnte machen man manche mein
meine mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine
seinem seinen seiner seit sich sie sind so solche soll sollte sondern sonst über um und uns
unser unter viel vom von vor war waren warum was weil welche welchem welchen welcher welches
wenn wer werde werden wie wieder will wir wird wirst wo wollen wurde wurden zu zum zur zwar
zwischen sagte laut
""".split()),
    "fr": frozenset("""
à au aux avec ce ceci cela celle celles celui ces cet cette ceux chez comme dans de des du
elle elles en entre est et été être eu fait il ils je la le les leur leurs lui ma mais me
même mes moi mon ne ni nos notre nous on ont ou où par pas plus pour qu que quel quelle
quelles quels qui sa sans se ses si son sont sous sur ta te tes toi ton tous tout toute
toutes très tu un une vos votre vous y a avait avaient sera seront était étaient peut
aussi alors après avant depuis encore donc dont déjà lors selon ainsi car cependant l d s n
c j qu m t
""".split()),
    "es": frozenset("""
a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante
e el él ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado
estar estas este esto estos fue fueron ha había han hasta hay la las le les lo los más me
mi mientras muy nada ni no nos nosotros o otra otras otro otros para pero poco por porque
que qué quien se sea según ser si sí sido sin sobre son su sus también tan te tiene tienen
todo todos tu tus un una uno unos unas y ya yo dijo sus cuyo aunque así
""".split()),
    "it": frozenset("""
a ad agli ai al alla alle allo anche avere aveva c che chi ci come con contro cui da dai
dal dalla dalle dei del della delle dello di dove e è ed era erano essere gli ha hanno i
il in io la le lei lo loro lui ma mi mio ne nei nel nella nelle nello noi non nostro o
ogni per perché più poi quale quando quello questa questo se sei si sia siamo sono sta
stato su sua sue sui sul sulla suo suoi tra tutti tutto un una uno vi voi anche ancora già
dopo prima secondo mentre però quindi così l all dell nell sull un'
""".split()),
    "pt": frozenset("""
a ao aos as à às com como da das de dela dele deles do dos e é ela elas ele eles em entre
era eram essa esse esta está estão este eu foi foram há isso isto já lhe mais mas me
mesmo meu minha muito na nas não nem no nos nós o os ou para pela pelas pelo pelos por
porque quando que quem se sem ser seu seus si sobre sua suas também te tem têm um uma
umas uns você vocês após ainda segundo disse sido ter tinha
""".split()),
    "nl": frozenset("""
aan al alles als altijd andere ben bij dan dat de der deze die dit doch doen door dus een
eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets
ik in is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu
of om omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want
waren was wat we wel werd wezen wie wij wil worden wordt zal ze zelf zich zij zijn zo zonder
zou volgens
""".split()),
    "sv": frozenset("""
alla allt att av blev bli blir blivit de dem den denna deras dess dessa det detta dig din
dina ditt du där efter ej eller en er era ert ett från för ha hade han hans har henne hennes
hon honom hur här i icke ingen inom inte jag ju kan kunde man med mellan men mig min mina
mitt mot mycket ni nu när någon något några och om oss på samma sedan sig sin sina sitta
själv skulle som så sådan till under upp ut utan vad var vara varför varit vars vem vi vid
vilka vilken vilket är än ännu även
""".split()),
    "pl": frozenset("""
a aby ale bez bo by był była było były być co czy dla do gdy gdzie go i ich im jak jako
jednak jego jej jest jeszcze już kiedy która które którego której który których ma mają
może można na nad nie nich nim niż o od oraz po pod przed przez przy się są ta tak także
tam te tego tej ten to tu tylko tym w we więc z za ze że żeby
""".split()),
}

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
#: ``_TOKEN`` on lower-case ASCII text: letters are a-z and the only apostrophe is "'".
_ASCII_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
#: Byte table: a-z and "'" stay, every other byte becomes a space (a token never spans one).
_ASCII_SPACES = bytes(b if (97 <= b <= 122 or b == 39) else 32 for b in range(256))
#: Characters whose lower case depends on context or changes the token boundaries ("İ" -> "i"
#: + combining dot, "Σ" -> "σ"/"ς"): a text holding one is lowered token by token.
_CONTEXT_CASE = ("\u0130", "\u03a3")

#: The languages, in the order ties are broken (by code).
LANGUAGES: Tuple[str, ...] = tuple(sorted(STOPWORDS))
#: word -> bitmask of the languages whose list holds it (bit i = LANGUAGES[i]), so one lookup
#: per token counts the function words of every language at once.
_MASKS: Mapping[str, int] = MappingProxyType({
    w: sum(1 << i for i, lang in enumerate(LANGUAGES) if w in STOPWORDS[lang])
    for w in sorted(set().union(*STOPWORDS.values()))
})
#: bitmask -> indices of its languages (the few combinations that occur).
_MASK_LANGS: Mapping[int, Tuple[int, ...]] = MappingProxyType({
    m: tuple(i for i in range(len(LANGUAGES)) if m >> i & 1) for m in sorted(set(_MASKS.values()))
})


def words(text: str) -> list:
    """Lower-case letter tokens (digits and punctuation dropped; apostrophe words kept whole)."""
    return lower_words(text, text.lower())


def lower_words(text: str, low: str) -> list:
    """``words(text)`` for a caller that already has ``low = text.lower()``."""
    if text.isascii():  # the same tokens as _TOKEN, from a byte table and split
        spaced = low.encode("ascii").translate(_ASCII_SPACES).decode("ascii")
        if "'" not in spaced:
            return spaced.split()
        return [t for chunk in spaced.split() for t in (_ASCII_TOKEN.findall(chunk) if "'" in chunk else (chunk,))]
    if not any(c in text for c in _CONTEXT_CASE):
        return _TOKEN.findall(low)  # same tokens as lowering each one, one call
    return [t.lower() for t in _TOKEN.findall(text)]


def stopword_counts(toks: Sequence[str]) -> List[int]:
    """Number of function words among ``toks`` per language of ``LANGUAGES`` (one pass)."""
    counts = [0] * len(LANGUAGES)
    for mask, n in Counter(map(_MASKS.get, toks)).items():
        if mask:
            for i in _MASK_LANGS[mask]:
                counts[i] += n
    return counts


def words_stopword_density(toks: Sequence[str]) -> float:
    """``stopword_density`` of a text already split by ``words`` (0.0 for no words)."""
    return max(stopword_counts(toks)) / len(toks) if toks else 0.0


def language_densities(text: str, languages: Optional[Sequence[str]] = None) -> Tuple[Tuple[str, float], ...]:
    """Share of function words per language, best first (ties by language code)."""
    toks = words(text)
    if not toks:
        return ()
    counts = dict(zip(LANGUAGES, stopword_counts(toks)))
    out = [(lang, counts[lang] / len(toks)) for lang in (languages or LANGUAGES)]
    out.sort(key=lambda x: (-x[1], x[0]))
    return tuple(out)


def stopword_density(text: str, languages: Optional[Sequence[str]] = None) -> float:
    """Share of function words in the text, in the best-fitting language (0.0 for no words)."""
    if languages is None:
        return words_stopword_density(words(text))
    d = language_densities(text, languages)
    return d[0][1] if d else 0.0


def best_language(text: str) -> Optional[str]:
    """The language whose function words cover the text best, or None for a text without words."""
    d = language_densities(text)
    return d[0][0] if d and d[0][1] > 0 else None


#: Scripts written without spaces between words: Han, Hiragana, Katakana (CJK), Thai, Lao,
#: Khmer, Myanmar, Tibetan.  Their text is counted in characters, ``CHARS_PER_WORD`` a word.
_UNSPACED = re.compile(
    "[\u0e00-\u0e7f\u0e80-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
#: Characters of such a script that make one word's worth of text: Chinese words average
#: 1.5-2 characters and Japanese mixes kana and kanji at about 2; Thai, Lao, Khmer and Myanmar
#: words run 4-6 letters, so one value of 2 undercounts those a little (it errs towards text).
CHARS_PER_WORD = 2


def word_count(text: str) -> int:
    """Words in ``text``: space-separated tokens, where text in a script without spaces
    (Chinese, Japanese, Thai ...) counts one word per ``CHARS_PER_WORD`` characters.

    >>> word_count("The mayor said no.")
    4
    >>> word_count("市议会周二批准了扩建公交网络的计划。")
    9
    """
    tokens = text.split()
    if text.isascii() or not _UNSPACED.search(text):
        return len(tokens)
    n = 0
    for tok in tokens:
        u = len(_UNSPACED.findall(tok))
        n += max(1, -(-u // CHARS_PER_WORD)) if u else 1
    return n


def is_unspaced(text: str) -> bool:
    """Most letters of ``text`` are in a script written without spaces (see ``word_count``)."""
    if text.isascii() or not _UNSPACED.search(text):
        return False  # most non-ASCII lines are Latin text with a curly quote or an accent
    letters = sum(1 for c in text if c.isalpha())
    return bool(letters) and len(_UNSPACED.findall(text)) >= letters / 2

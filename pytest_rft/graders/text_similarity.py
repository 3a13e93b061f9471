"""``text_similarity`` graders: a similarity metric between rendered ``input`` and ``reference``.

Metrics (every score clamped to [0, 1]; libraries are the optional ``similarity`` extra,
imported at load):

- ``fuzzy_match``: ``rapidfuzz.fuzz.ratio(input, reference) / 100``: the normalized Indel
  similarity (1 - Indel distance / total length), case- and whitespace-sensitive, no
  preprocessing. OpenAI says only "fuzzy string match, using rapidfuzz"; ``ratio`` is our choice.
- ``bleu``: ``sacrebleu.sentence_bleu(input, [reference]).score / 100``: sacrebleu's defaults
  (4-grams, ``13a`` tokenizer, ``exp`` smoothing, case-sensitive). Identical texts give
  1.0000000000000004 in sacrebleu: clamped to 1.0.
- ``nltk_bleu`` (pytest-rft's own, not an OpenAI metric): ``nltk.translate.bleu_score.
  sentence_bleu([reference.split()], input.split())`` with nltk's defaults (4-gram weights 0.25,
  no smoothing: a text without a matching 4-gram scores about 1e-155), as a python grader ported from
  OpenAI's grader image (which has nltk) computes it.
- ``gleu``: ``nltk.translate.gleu_score.sentence_gleu([reference.split()], input.split())``
  (1- to 4-grams).
- ``meteor``: ``nltk.translate.meteor_score.meteor_score([reference.split()], input.split())``
  (alpha 0.9, beta 3, gamma 0.5; WordNet synonyms). nltk's fragmentation penalty gives an
  identical one-word pair 0.5 (and any identical pair less than 1): identical token lists score
  1.0 here. Needs WordNet: nltk's ``wordnet`` data, or Debian's ``wordnet-base`` (offline).
- ``rouge_1`` .. ``rouge_5``, ``rouge_l``: ``rouge_score`` ``RougeScorer([...], use_stemmer=
  False).score(reference, input)`` F-measure. Its tokenizer keeps only ``[a-z0-9]``, so Chinese
  or Japanese text would have no tokens at all: a text with letters of a non-Latin script is
  tokenized by :class:`ScriptTokenizer` instead (words of any script, lowercased; Han, kana,
  Thai, Lao, Khmer and Myanmar characters one token each, as ROUGE is usually computed for
  them). Text in Latin script is tokenized exactly as ``rouge_score`` does.
- ``cosine``: cosine similarity of the embeddings of input and reference, from an embeddings
  model (default ``text-embedding-3-large``; the suite's ``judge.embedding_model`` overrides)
  called during the run through the judge machinery (``pytest_rft.backends.judge``).

Tokenization for gleu/meteor/nltk_bleu is whitespace splitting (nltk's word_tokenize needs data
files).
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..core.records import Grades
from ..core.template import TemplateError, compile_template
from .base import Grader, GradingContext, InputReferenceGrader, read_threshold
from .registry import register_type
from .string_check import template_field

Metric = Callable[[str, str], float]
"""(input, reference) -> score."""

METRICS = (
    "fuzzy_match", "bleu", "gleu", "meteor", "cosine",
    "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l", "nltk_bleu",
)
OPENAI_METRICS = METRICS[:-1]
"""The metrics OpenAI's text_similarity grader knows (``nltk_bleu`` is pytest-rft's)."""
_INSTALL = "pip install 'pytest-rft[similarity]'"


def _need(module: str, package: str, metric: str, where: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RftError(
            f"text_similarity {metric} needs {package}, which is not installed",
            where=where,
            fix=f"{_INSTALL}  (or pip install {package})",
        ) from None


def _fuzzy(where: str) -> Metric:
    fuzz = _need("rapidfuzz.fuzz", "rapidfuzz", "fuzzy_match", where)
    return lambda text, ref: float(fuzz.ratio(text, ref)) / 100.0


def _bleu(where: str) -> Metric:
    sacrebleu = _need("sacrebleu", "sacrebleu", "bleu", where)
    return lambda text, ref: float(sacrebleu.sentence_bleu(text, [ref]).score) / 100.0


def _nltk_bleu(where: str) -> Metric:
    bleu = _need("nltk.translate.bleu_score", "nltk", "nltk_bleu", where)

    def score(text: str, ref: str) -> float:
        with warnings.catch_warnings():  # nltk warns on every text without a 4-gram match
            warnings.simplefilter("ignore")
            return float(bleu.sentence_bleu([ref.split()], text.split()))

    return score


def _gleu(where: str) -> Metric:
    gleu = _need("nltk.translate.gleu_score", "nltk", "gleu", where)
    return lambda text, ref: float(gleu.sentence_gleu([ref.split()], text.split()))


DEBIAN_WORDNET = Path("/usr/share/wordnet")
"""WordNet 3.0 database files of Debian's ``wordnet-base`` and ``wordnet-sense-index`` packages:
the same files as nltk's ``wordnet`` corpus, less ``lexnames``."""
_LEXNAMES = (
    "adj.all 3", "adj.pert 3", "adv.all 4", "noun.Tops 1", "noun.act 1", "noun.animal 1",
    "noun.artifact 1", "noun.attribute 1", "noun.body 1", "noun.cognition 1",
    "noun.communication 1", "noun.event 1", "noun.feeling 1", "noun.food 1", "noun.group 1",
    "noun.location 1", "noun.motive 1", "noun.object 1", "noun.person 1", "noun.phenomenon 1",
    "noun.plant 1", "noun.possession 1", "noun.process 1", "noun.quantity 1",
    "noun.relation 1", "noun.shape 1", "noun.state 1", "noun.substance 1", "noun.time 1",
    "verb.body 2", "verb.change 2", "verb.cognition 2", "verb.communication 2",
    "verb.competition 2", "verb.consumption 2", "verb.contact 2", "verb.creation 2",
    "verb.emotion 2", "verb.motion 2", "verb.perception 2", "verb.possession 2",
    "verb.social 2", "verb.stative 2", "verb.weather 2", "adj.ppl 3")
"""WordNet 3.0's lexicographer files (lexnames(5WN)): number, name, syntactic category."""


def debian_wordnet_corpus(source: Path = DEBIAN_WORDNET, cache: Path | None = None
                          ) -> Path | None:
    """An nltk data folder whose ``corpora/wordnet`` holds Debian's WordNet files (and adds
    the ``lexnames`` file they lack); None when the package is not installed."""
    if not all((source / name).is_file() for name in ("data.noun", "index.sense")):
        return None
    root = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "pytest-rft" / "nltk_data"
    corpus = root / "corpora" / "wordnet"
    files = [f for f in source.iterdir() if f.is_file()]
    if not (corpus / "lexnames").is_file() or any(not (corpus / f.name).is_file() for f in files):
        corpus.mkdir(parents=True, exist_ok=True)
        for file in files:
            target = corpus / file.name  # copied: nltk refuses symlinks and hardlinks
            if not target.exists():
                shutil.copyfile(file, target)
        lines = "".join(f"{i:02d}\t{name.split()[0]}\t{name.split()[1]}\n"
                        for i, name in enumerate(_LEXNAMES))
        (corpus / "lexnames.tmp").write_text(lines)
        os.replace(corpus / "lexnames.tmp", corpus / "lexnames")
    return root


def _meteor(where: str) -> Metric:
    meteor = _need("nltk.translate.meteor_score", "nltk", "meteor", where)
    wordnet = _need("nltk.corpus", "nltk", "meteor", where).wordnet
    try:
        wordnet.ensure_loaded()
    except LookupError:
        root = debian_wordnet_corpus()
        try:
            if root is None:
                raise LookupError("no wordnet")
            import nltk

            if str(root) not in nltk.data.path:
                nltk.data.path.append(str(root))
            wordnet.ensure_loaded()
        except (LookupError, OSError, ValueError):
            raise RftError(
                "text_similarity meteor needs WordNet, which is not installed",
                where=where,
                fix="apt-get install wordnet-base wordnet-sense-index (Debian/Ubuntu), or "
                "python -m nltk.downloader wordnet (or set NLTK_DATA to a folder holding it)",
            ) from None

    def score(text: str, ref: str) -> float:
        hypothesis, reference = text.split(), ref.split()
        if hypothesis and hypothesis == reference:
            return 1.0  # nltk's fragmentation penalty would give "yes" vs "yes" 0.5
        return float(meteor.meteor_score([reference], hypothesis))

    return score


_CHARACTER_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR",
                      "IDEOGRAPHIC", "HALFWIDTH KATAKANA")
"""Scripts written without spaces between words: ROUGE counts their characters."""


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ")[0]


class ScriptTokenizer:
    """rouge_score's tokenizer for Latin-script text; for text with letters of another script,
    words of any script (lowercased), with the characters of scripts written without spaces
    (Han, kana, Thai ...) one token each."""

    def __init__(self) -> None:
        from rouge_score import tokenize

        self._latin = tokenize.tokenize

    def tokenize(self, text: str) -> list[str]:
        if text.isascii() or not any(c.isalpha() and _script(c) != "LATIN" for c in text):
            return self._latin(text, None)
        tokens: list[str] = []
        word = ""
        for char in text.lower():
            if char.isalnum() and _script(char).startswith(_CHARACTER_SCRIPTS):
                if word:
                    tokens.append(word)
                    word = ""
                tokens.append(char)
            elif char.isalnum():
                word += char
            elif word:
                tokens.append(word)
                word = ""
        if word:
            tokens.append(word)
        return tokens


def _rouge(metric: str, where: str) -> Metric:
    rouge_scorer = _need("rouge_score.rouge_scorer", "rouge-score", metric, where)
    key = "rougeL" if metric == "rouge_l" else "rouge" + metric[-1]
    scorer = rouge_scorer.RougeScorer([key], use_stemmer=False, tokenizer=ScriptTokenizer())
    return lambda text, ref: float(scorer.score(ref, text)[key].fmeasure)


def load_metric(metric: str, *, where: str) -> Metric:
    """The scoring function for a metric; RftError if unknown or unavailable offline."""
    if metric == "fuzzy_match":
        return _fuzzy(where)
    if metric == "bleu":
        return _bleu(where)
    if metric == "gleu":
        return _gleu(where)
    if metric == "nltk_bleu":
        return _nltk_bleu(where)
    if metric == "meteor":
        return _meteor(where)
    if metric.startswith("rouge_") and metric in METRICS:
        return _rouge(metric, where)
    if metric == "cosine":
        return _no_sync_cosine
    raise RftError(
        f"unknown evaluation_metric {metric!r}",
        where=where,
        fix="use one of: " + ", ".join(METRICS),
    )


DEFAULT_EMBEDDING_MODEL = "text-embedding-3-large"


def _no_sync_cosine(text: str, ref: str) -> float:
    raise RuntimeError("cosine calls an embeddings model: it grades during a run (agrade)")


def clamp(value: float) -> float:
    """A similarity in [0, 1] (sacrebleu's 1.0000000000000004, a cosine's -0.02 ...)."""
    return min(1.0, max(0.0, value))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    if len(a) != len(b) or norm == 0:
        raise ValueError("embeddings of different sizes or of zero length")
    return dot / norm


class TextSimilarityGrader(InputReferenceGrader):
    """Scores the similarity of rendered ``input`` to rendered ``reference``."""

    def __init__(self, name: str, input: str, reference: str, metric: str, *, where: str):
        super().__init__(name, input, reference)
        self.metric = metric
        self._score = load_metric(metric, where=where)

    def compare(self, text: str, reference: str) -> float:
        return clamp(self._score(text, reference))

    judge_config: Any = None
    """The suite's ``judge:`` block (``embedding_model``, ``base_url``) for cosine."""

    async def agrade(self, sample: Mapping[str, Any], item: Mapping[str, Any],
                     context: GradingContext | None = None) -> Grades:
        if self.metric != "cosine":
            return self.grade(sample, item)
        from ..backends import judge as judges

        judge = context.judge if context is not None else None
        if judge is None:
            return self.grade(sample, item)
        context = {"item": item, "sample": sample}
        try:
            text, ref = self._input.render(context), self._reference.render(context)
        except TemplateError as exc:
            return Grades(errors={self.name: f"grader '{self.name}': {exc.message}"})
        config = self.judge_config
        model = getattr(config, "embedding_model", None) or DEFAULT_EMBEDDING_MODEL
        try:
            a, b = await judge.embed([text, ref], model,
                                     base_url=getattr(config, "base_url", None))
            return Grades(scores={self.name: clamp(cosine(a, b))})
        except (judges.JudgeError, ValueError) as exc:
            return Grades(errors={self.name: f"grader '{self.name}': {exc}"})


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    metric = definition["evaluation_metric"]
    if not isinstance(metric, str):
        raise RftError("evaluation_metric must be a string", where=where,
                       fix="use one of: " + ", ".join(METRICS))
    grader = TextSimilarityGrader(
        name,
        template_field(definition, "input", name=name, where=where),
        template_field(definition, "reference", name=name, where=where),
        metric,
        where=f"{where}: evaluation_metric",
    )
    grader.pass_threshold = read_threshold(definition, name, where)
    return grader


register_type(
    "text_similarity",
    _build,
    required={"input", "reference", "evaluation_metric"},
    optional={"pass_threshold"},
    default=True,
)

"""text_similarity graders, checked against values recorded once from the reference libraries.

Recorded with rapidfuzz 3.14.6, sacrebleu 2.6.0, nltk 3.10.4, rouge-score 0.1.2 (Python 3.11),
for HYP / REF below; each literal names the call that produced it. The libraries are not
called on the assertion side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader

HYP = "The quick brown fox jumps over the lazy dog"
REF = "A quick brown fox jumped over the lazy dog"
HYP_LONG = "the cat sat on the mat and then it slept"
REF_LONG = "the cat sat on the mat and then it ran away"


def similarity(metric: str):
    return build_grader(
        "sim",
        {"type": "text_similarity", "name": "s", "input": "{{ sample.output_text }}",
         "reference": "{{ item.reference }}", "evaluation_metric": metric,
         "pass_threshold": 0.5},
        base_dir=Path("."),
        where="suite.yaml: graders.sim",
    )


def score(metric: str, hyp: str = HYP, ref: str = REF) -> float:
    grades = similarity(metric).grade({"output_text": hyp}, {"reference": ref})
    assert grades.errors == {}
    return grades.scores["sim"]


def test_fuzzy_match() -> None:
    pytest.importorskip("rapidfuzz", reason="fuzzy_match needs the similarity extra")
    # rapidfuzz 3.14.6: fuzz.ratio(HYP, REF) / 100
    assert score("fuzzy_match") == pytest.approx(0.9176470588235294, abs=1e-12)
    assert score("fuzzy_match", REF, REF) == 1.0


def test_bleu() -> None:
    pytest.importorskip("sacrebleu", reason="bleu needs the similarity extra")
    # sacrebleu 2.6.0: sentence_bleu(HYP, [REF]).score / 100
    assert score("bleu") == pytest.approx(0.4316700106852254, abs=1e-12)
    # sacrebleu 2.6.0: sentence_bleu(REF, [REF]).score / 100 is 1.0000000000000004 (float
    # rounding above 1): the grader clamps every similarity to [0, 1]
    import sacrebleu

    assert sacrebleu.sentence_bleu(REF, [REF]).score / 100 > 1.0
    assert score("bleu", REF, REF) == 1.0


def test_gleu() -> None:
    pytest.importorskip("nltk", reason="gleu needs the similarity extra")
    # nltk 3.10.4: gleu_score.sentence_gleu([REF.split()], HYP.split())
    assert score("gleu") == pytest.approx(0.5333333333333333, abs=1e-12)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # rouge-score 0.1.2: RougeScorer([key], use_stemmer=False).score(REF, HYP)[key].fmeasure
        ("rouge_1", 0.7777777777777778),
        ("rouge_2", 0.625),
        ("rouge_3", 0.42857142857142855),
        ("rouge_4", 0.16666666666666666),
        ("rouge_5", 0.0),
        ("rouge_l", 0.7777777777777778),
    ],
)
def test_rouge(metric: str, expected: float) -> None:
    pytest.importorskip("rouge_score", reason="rouge needs the similarity extra")
    assert score(metric) == pytest.approx(expected, abs=1e-12)


def test_rouge_long() -> None:
    pytest.importorskip("rouge_score", reason="rouge needs the similarity extra")
    # rouge-score 0.1.2: RougeScorer([key]).score(REF_LONG, HYP_LONG)[key].fmeasure
    assert score("rouge_5", HYP_LONG, REF_LONG) == pytest.approx(0.7692307692307692, abs=1e-12)
    assert score("rouge_l", HYP_LONG, REF_LONG) == pytest.approx(0.8571428571428572, abs=1e-12)


def test_meteor_values_with_wordnet() -> None:
    pytest.importorskip("nltk", reason="meteor needs the similarity extra")
    try:
        grader = similarity("meteor")
    except RftError:
        pytest.skip("no WordNet here (apt-get install wordnet-base wordnet-sense-index)")
    # nltk 3.9 meteor_score([ref.split()], hyp.split()) with WordNet 3.0 (Debian wordnet-base,
    # the data of nltk's own 'wordnet' corpus): exact 1.0 less the fragmentation penalty, a
    # synonym (feline ~ cat) and a stem (cats ~ cat) match
    ref = {"reference": "the cat sat on the mat"}
    score = lambda text: grader.grade({"output_text": text}, ref).scores["sim"]  # noqa: E731
    # nltk gives the identical pair 0.9976851851851852 (its fragmentation penalty): identical
    # token lists score 1.0 here
    assert score("the cat sat on the mat") == 1.0
    assert score("a feline sat on the mat") == pytest.approx(0.6614583333333333, abs=1e-12)
    assert score("the cats were sitting on the mat") == pytest.approx(0.7934426229508196,
                                                                      abs=1e-12)


def test_debian_wordnet_files_become_an_nltk_corpus(tmp_path) -> None:
    from pytest_rft.graders.text_similarity import debian_wordnet_corpus

    source = tmp_path / "wordnet"
    assert debian_wordnet_corpus(source, tmp_path / "cache") is None  # not installed
    source.mkdir()
    for name in ("data.noun", "index.noun", "index.sense"):
        (source / name).write_text(name)
    (source / "wnres").mkdir()  # folders are left out
    root = debian_wordnet_corpus(source, tmp_path / "cache")
    corpus = root / "corpora" / "wordnet"
    assert sorted(p.name for p in corpus.iterdir()) == [
        "data.noun", "index.noun", "index.sense", "lexnames"]
    assert not (corpus / "data.noun").is_symlink()  # nltk refuses links out of its folders
    lines = (corpus / "lexnames").read_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1"
    assert lines[44] == "44\tadj.ppl\t3"


def test_meteor_needs_wordnet_or_works() -> None:
    pytest.importorskip("nltk", reason="meteor needs the similarity extra")
    try:
        grader = similarity("meteor")
    except RftError as exc:
        assert "meteor needs WordNet" in str(exc)
        assert "wordnet-base" in str(exc) and "nltk.downloader wordnet" in str(exc)
        return
    grades = grader.grade({"output_text": REF}, {"reference": REF})
    assert grades.scores["sim"] == pytest.approx(1.0, abs=1e-3)


def test_cosine_needs_a_run() -> None:
    grades = similarity("cosine").grade({"output_text": "a"}, {"reference": "a"})
    assert "cosine calls an embeddings model: it grades during a run" in grades.errors["sim"]


def test_cosine_through_the_judge_machinery() -> None:
    import asyncio

    import pytest_rft
    from pytest_rft.backends.python_backend import _MODELS
    from pytest_rft.backends.factory import BackendOptions, judge_factory
    from pytest_rft.backends.judge import Judge
    from pytest_rft.graders.base import GradingContext

    seen = []

    @pytest_rft.model("text-embedding-3-large")
    def embed(request):
        seen.append([m["content"] for m in request.messages])
        return [[1.0, 0.0] if "cat" in m["content"] else [1.0, 1.0] for m in request.messages]

    judge = Judge(judge_factory(BackendOptions(timeout=5, concurrency=2)))
    context = GradingContext(judge=judge)
    grader = similarity("cosine")
    try:
        same = asyncio.run(grader.agrade({"output_text": "a cat"}, {"reference": "cat"}, context))
        other = asyncio.run(grader.agrade({"output_text": "a dog"}, {"reference": "cat"}, context))
    finally:
        _MODELS.pop("text-embedding-3-large", None)
    assert same.scores["sim"] == pytest.approx(1.0)
    assert other.scores["sim"] == pytest.approx(2 ** -0.5)
    assert seen[0] == ["a cat", "cat"]
    assert judge.stats.calls == 2


COSINE_SUITE = """
suite: cos
dataset: data.jsonl
model: writer
input: [{role: user, content: "{{ item.prompt }}"}]
judge: {embedding_model: embed-small}
graders:
  sim: {type: text_similarity, input: "{{ sample.output_text }}", reference: "{{ item.ref }}",
        evaluation_metric: cosine, pass_threshold: 0.9}
"""


def test_cosine_end_to_end_against_the_local_server(pytester, openai_server, monkeypatch):
    import json

    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    pytester.makeconftest("import pytest_rft\n"
                          "pytest_rft.model('writer')(lambda request: request.item['answer'])\n")
    pytester.makefile(".yaml", rft_cos=COSINE_SUITE)
    rows = [{"id": "same", "prompt": "p", "answer": "the cat sat", "ref": "the cat sat"},
            {"id": "apart", "prompt": "q", "answer": "dogs bark loudly", "ref": "the cat sat"}]
    pytester.path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rft-judge-base-url",
                                           openai_server.base_url, "--rft-report", "r.json", "-v")
    result.assert_outcomes(passed=3)
    bodies = openai_server.bodies("/v1/embeddings")
    assert {b["model"] for b in bodies} == {"embed-small"} and len(bodies) == 2
    report = json.loads(pytester.path.joinpath("r.json").read_text())
    scores = {i["id"]: i["samples"][0]["scores"]["sim"] for i in report["suites"][0]["items"]}
    assert scores["same"] == pytest.approx(1.0) and scores["apart"] < 0.9
    result.stdout.fnmatch_lines(["sim.pass_rate*0.5000*"])


def test_unknown_metric() -> None:
    with pytest.raises(RftError, match="unknown evaluation_metric 'rouge_6'") as info:
        similarity("rouge_6")
    assert "suite.yaml: graders.sim: evaluation_metric: " in str(info.value)


def test_missing_library_is_a_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # makes `import sacrebleu` fail
    with pytest.raises(RftError) as info:
        similarity("bleu")
    said = str(info.value)
    assert "text_similarity bleu needs sacrebleu, which is not installed" in said
    assert said.count("pip install 'pytest-rft[similarity]'") == 1  # the fix, said once


def test_missing_template_value_is_an_error() -> None:
    pytest.importorskip("rapidfuzz", reason="fuzzy_match needs the similarity extra")
    grades = similarity("fuzzy_match").grade({"output_text": "x"}, {})
    assert grades.scores == {}
    assert "item has no key 'reference'" in grades.errors["sim"]


def test_meteor_identical_one_word_pair_is_one() -> None:
    pytest.importorskip("nltk", reason="meteor needs the similarity extra")
    try:
        grader = similarity("meteor")
    except RftError:
        pytest.skip("no WordNet here (apt-get install wordnet-base wordnet-sense-index)")
    from nltk.translate.meteor_score import meteor_score

    # what nltk 3.10.4 says (the 0.5): fmean 1 less the penalty 0.5 * (1 chunk / 1)^3
    assert meteor_score([["yes"]], ["yes"]) == pytest.approx(0.5, abs=1e-12)
    assert grader.grade({"output_text": "yes"}, {"reference": "yes"}).scores["sim"] == 1.0
    assert grader.grade({"output_text": "no"}, {"reference": "yes"}).scores["sim"] == 0.0


@pytest.mark.parametrize(("metric", "hyp", "ref", "expected"), [
    # worked by hand (characters are ROUGE's tokens in scripts written without spaces):
    # 我 喜 欢 猫 / 我 喜 欢 狗: 3 of 4 unigrams, 2 of 3 bigrams, LCS 3 of 4
    ("rouge_1", "我喜欢猫", "我喜欢狗", 0.75),
    ("rouge_2", "我喜欢猫", "我喜欢狗", 2 / 3),
    ("rouge_l", "我喜欢猫", "我喜欢狗", 0.75),
    # 東 京 タ ワ ー は 高 い / ... 低 い: 7 of 8 characters in order
    ("rouge_1", "東京タワーは高い", "東京タワーは低い", 0.875),
    ("rouge_l", "東京タワーは高い。", "東京タワーは低い", 0.875),
    # Cyrillic words (rouge_score's own tokenizer drops them all): 2 of 3 words
    ("rouge_1", "Привет, большой мир", "привет мир", 2 * (2 / 3) * 1 / (2 / 3 + 1)),
    # Latin script stays rouge_score's tokenization ("café" -> "caf"): the same value as
    # RougeScorer(["rouge1"]).score(...) (recorded above for HYP/REF)
    ("rouge_1", HYP, REF, 0.7777777777777778),
])
def test_rouge_tokenizes_scripts_without_latin_letters(metric, hyp, ref, expected) -> None:
    pytest.importorskip("rouge_score", reason="rouge needs the similarity extra")
    assert score(metric, hyp, ref) == pytest.approx(expected, abs=1e-12)


def test_rouge_on_cjk_was_zero_with_the_library_tokenizer() -> None:
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer",
                                       reason="rouge needs the similarity extra")
    plain = rouge_scorer.RougeScorer(["rouge1"]).score("我喜欢狗", "我喜欢猫")["rouge1"]
    assert plain.fmeasure == 0.0  # what the issue reported
    assert score("rouge_1", "我喜欢猫", "我喜欢狗") == 0.75


def test_nltk_bleu_variant() -> None:
    pytest.importorskip("nltk", reason="nltk_bleu needs the similarity extra")
    # Papineni et al.'s formula by hand: p1 5/6, p2 3/5, p3 2/4, p4 1/3, same length (BP 1):
    # (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = (1/12) ** 0.25
    hyp, ref = "the cat sat on the mat", "the cat sat on a mat"
    assert score("nltk_bleu", hyp, ref) == pytest.approx((1 / 12) ** 0.25, abs=1e-12)
    assert score("nltk_bleu", ref, ref) == 1.0
    # nltk's default has no smoothing: no matching 4-gram gives (nltk 3.10.4) 9.05e-155, a 0
    # in all but name (sacrebleu smooths instead)
    assert score("nltk_bleu", "the cat", "the cat sat") == pytest.approx(9.047424648113057e-155,
                                                                          rel=1e-9)
    assert score("bleu", "the cat", "the cat sat") > 0.0

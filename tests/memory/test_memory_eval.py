"""The evaluation set is sound, its scoring is right, and bench/memory_eval.py runs
end to end against Ollama's API (a loopback server that follows the schema)."""

import json
import subprocess
import sys
from pathlib import Path

from assistant.text import split_sentences
from bench.memory_eval import Score, load_eval_set, score_memories

ROOT = Path(__file__).resolve().parents[2]


def test_every_expected_memory_and_answer_is_in_the_users_words() -> None:
    eval_set = load_eval_set()
    assert len(eval_set.scenarios) >= 5
    for scenario in eval_set.scenarios:
        said = " ".join(text for session in scenario.sessions for text in session).lower()
        for expected in scenario.expected:
            # A relative date is said in relative words ("last month"), resolved by reflection.
            words = [k for k in expected.keywords if "{" not in k]
            assert all(k.lower() in said for k in words), (scenario.id, expected)
        for question in scenario.questions:
            assert any(
                all(a.lower() in " ".join(e.keywords).lower() for a in question.answer)
                for e in scenario.expected
            ), (scenario.id, question)
        assert len(scenario.sessions) >= 2  # remembered across conversations
        assert all(split_sentences(text) for session in scenario.sessions for text in session)


def test_scoring_counts_matches_misses_kinds_and_stale_facts() -> None:
    scenario = next(s for s in load_eval_set().scenarios if s.id == "family-that-moved")
    formed = [
        ("semantic", "The user lives in Denver."),
        ("procedural", "Mia is the user's daughter."),  # right words, wrong kind
        ("semantic", "The user lives in Boston."),  # stale
        ("semantic", "The user likes museums."),  # not expected
    ]
    score = score_memories(scenario, formed)
    assert (score.formed, score.correct, score.expected, score.found) == (4, 2, 2, 2)
    assert score.right_kind == 1
    summary = score.summary()
    assert summary["precision"] == 0.5 and summary["recall"] == 1.0 and summary["kind"] == 0.5
    total = Score()
    total.add(score)
    total.add(score)
    assert total.formed == 8 and len(total.wrong) == 4


def test_the_eval_runs_against_ollama(fake_ollama, tmp_path) -> None:
    out = tmp_path / "eval.json"
    command = [sys.executable, "bench/memory_eval.py", "--backend", "ollama"]
    command += ["--scenarios", "nurse-in-lyon", "--json", str(out)]
    env = {"OLLAMA_HOST": fake_ollama, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ollama · llama3.2" in result.stdout
    report = json.loads(out.read_text())
    debounced, per_message = report["modes"]["debounced"], report["modes"]["per-message"]
    assert debounced["model_calls"] == 2 and debounced["failed"] == 0
    assert per_message["model_calls"] == 7
    assert report["ratio"]["model_calls"] == 3.5
    # The fake model remembers nothing; the safety net keeps the self-disclosures.
    assert debounced["safety_net_share"] == 1.0 and debounced["found"] == 3

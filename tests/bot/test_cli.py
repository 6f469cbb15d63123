"""The ``puente`` command driven as a user would: a subprocess with piped stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_BENCH


def puente(tmp_path: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )
    # strict decoding: Puente must never print invalid UTF-8 either
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def lines(*texts: str) -> bytes:
    return "".join(t + "\n" for t in texts).encode("utf-8")


def test_chat_in_spanish_then_tickets(tmp_path: Path) -> None:
    chat = puente(
        tmp_path,
        "chat",
        stdin=lines("como hago para hacer un live?", "quiero hablar con una persona"),
    )
    assert chat.returncode == 0, chat.stderr
    replies = [line for line in chat.stdout.splitlines() if line.startswith("Puente:")]
    assert len(replies) == 2
    assert "18 años" in replies[0]
    assert "#1" in replies[1] and "persona" in replies[1]
    tickets = puente(tmp_path, "tickets")
    assert tickets.returncode == 0, tickets.stderr
    assert (
        "#1" in tickets.stdout
        and "abierto" in tickets.stdout
        and "pide una persona" in tickets.stdout
    )
    as_json = puente(tmp_path, "tickets", "--json", "--open")
    assert json.loads(as_json.stdout.splitlines()[0])["status"] == "open"


def test_chat_in_english(tmp_path: Path) -> None:
    chat = puente(tmp_path, "chat", "--locale", "en", stdin=lines("how do I go live?", "/human"))
    assert chat.returncode == 0, chat.stderr
    assert "18" in chat.stdout and "Your case is #1" in chat.stdout


def test_each_reply_is_printed_before_the_next_line_is_read(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "PYTHONPATH": str(REPO),
        },
    )
    assert process.stdin and process.stdout
    process.stdin.write(lines("hola"))
    process.stdin.flush()
    first = process.stdout.readline().decode("utf-8")
    assert first.startswith("Puente: ¡Hola!")
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def test_suggestions_are_numbered_and_a_number_picks_one(tmp_path: Path) -> None:
    chat = puente(tmp_path, "chat", stdin=lines("/idioma", "2", "how do I go live?"))
    assert "  1) Español" in chat.stdout and "  2) English" in chat.stdout
    assert "Done, I'll help you in English." in chat.stdout


def test_hostile_input_never_crashes_the_console(tmp_path: Path) -> None:
    stdin = (
        b"\n"
        + b"x" * 100_000
        + b"\n\x00\x07\x1b[2J\n\xff\xfe\xc3(\n\xf0\x9f\x98\x80\xf0\x9f\x94\xa5\n"
    )
    chat = puente(tmp_path, "chat", stdin=stdin)
    assert chat.returncode == 0, chat.stderr
    assert "Traceback" not in chat.stderr
    assert chat.stdout.count("Puente:") == 5


def test_kb_match_names_the_article(tmp_path: Path) -> None:
    kb = SHARED_BENCH / "kb.csv"
    if not kb.exists():
        pytest.skip("../shared/bench/kb.csv is not beside this checkout")
    stdin = lines(
        json.dumps({"text": "no me llegan los regalos", "locale": "es"}),
        "this is not json",
        json.dumps({"text": "", "locale": 3}),
    )
    done = puente(tmp_path, "kb", "match", "--kb", str(kb), stdin=stdin)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 3
    first = results[0]  # the learned decision answers it or offers it among the buttons
    offered = (first["article_id"], *first["suggestions"])
    assert first["action"] in {"answer", "clarify"} and "gift-not-received" in offered
    assert set(results[0]) >= {"action", "article_id", "score", "suggestions"}
    assert results[1]["action"] == "escalate" and "error" in results[1]
    assert results[2]["article_id"] is None
    assert not (tmp_path / "cli.db").exists(), "kb match must not need a database"


def test_kb_import_export_and_atomic_failure(tmp_path: Path) -> None:
    good = tmp_path / "extra.csv"
    good.write_text(
        "id,locale,category,questions,answer\n"
        "merch-store,es,features,¿Cómo abro una tienda de merch? | vender merch,Abre la tienda.\n",
        encoding="utf-8",
    )
    imported = puente(tmp_path, "kb", "import", str(good))
    assert imported.returncode == 0, imported.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,locale,category,questions,answer\n"
        "merch-store,es,features,Otra pregunta,Respuesta cambiada\n"
        "broken,es,features,,\n",
        encoding="utf-8",
    )
    rejected = puente(tmp_path, "kb", "import", str(bad))
    assert rejected.returncode == 2
    assert "line 3" in rejected.stderr and "Traceback" not in rejected.stderr
    exported = puente(tmp_path, "kb", "export", str(tmp_path / "all.xlsx"))
    assert exported.returncode == 0, exported.stderr
    csv_out = puente(tmp_path, "kb", "export", str(tmp_path / "all.csv"))
    text = (tmp_path / "all.csv").read_text(encoding="utf-8")
    assert csv_out.returncode == 0
    assert "Abre la tienda." in text and "Respuesta cambiada" not in text
    assert "live-eligibility" in text
    chat = puente(tmp_path, "chat", stdin=lines("como abro una tienda de merch"))
    assert "Abre la tienda." in chat.stdout


def test_python_dash_m_bot_and_help(tmp_path: Path) -> None:
    done = puente(tmp_path, "--help")
    assert done.returncode == 0 and "chat" in done.stdout and "kb" in done.stdout


def test_serve_stops_cleanly_on_sigterm_and_refuses_a_malformed_token(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "PORT": str(port),
           "HOST": "127.0.0.1", "PUENTE_SEMANTIC": "false", "PYTHONPATH": str(REPO)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"stopped" in err
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={**env, "TELEGRAM_BOT_TOKEN": "12345:not-a-real-token"},
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is malformed" in bad.stderr
    assert "not-a-real-token" not in bad.stderr


def test_a_big_new_kb_is_matched_by_words_until_embedded(tmp_path: Path) -> None:
    rows = ["id,locale,category,questions,answer"]
    rows += [f"tema-{n},es,general,Pregunta número {n} sobre el tema {n},Respuesta {n}."
             for n in range(60)]  # fmt: skip
    kb = tmp_path / "big.csv"
    kb.write_text("\n".join(rows) + "\n", encoding="utf-8")
    query = lines(json.dumps({"text": "pregunta número 7 sobre el tema 7", "locale": "es"}))
    env_small = {"PUENTE_MAX_NEW_EMBEDDINGS": "10"}
    cold = puente_env(tmp_path, env_small, "kb", "match", "--kb", str(kb), stdin=query)
    assert json.loads(cold.stdout)["article_id"] == "tema-7"
    assert "no embedding yet" in cold.stderr
    embedded = puente_env(tmp_path, {}, "kb", "embed", "--kb", str(kb))
    assert embedded.returncode == 0 and "embedded 60 new questions" in embedded.stdout
    warm = puente_env(tmp_path, env_small, "kb", "match", "--kb", str(kb), stdin=query)
    assert json.loads(warm.stdout)["article_id"] == "tema-7"
    assert "no embedding yet" not in warm.stderr


def puente_env(
    tmp_path: Path, extra: dict[str, str], *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
                   "PYTHONPATH": str(REPO), "PUENTE_CACHE_DIR": str(tmp_path / "cache"),
                   "PUENTE_LOG_LEVEL": "WARNING", **extra}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=tmp_path,
        env=environment, timeout=120, check=False,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def test_triage_reads_json_lines(tmp_path: Path) -> None:
    stdin = lines(
        json.dumps({"text": "ya no aguanto mas, esta noche termino con todo", "locale": "es"}),
        json.dumps({"text": "me muero de risa con tu live jajaja", "locale": "es"}),
        "{broken",
    )
    done = puente(tmp_path, "triage", stdin=stdin)
    assert done.returncode == 0, done.stderr
    first, second, third = (json.loads(line) for line in done.stdout.splitlines())
    assert (first["priority"], first["category"]) == ("P1", "self_harm") and first["reasons"]
    assert second["priority"] == "P4"
    assert third["error"] == "invalid JSON line"


def test_triage_gives_reasons_in_english_unless_asked(tmp_path: Path) -> None:
    stdin = lines(json.dumps({"text": "esta noche me quiero matar", "locale": "es"}))
    english = puente(tmp_path, "triage", stdin=stdin)
    spanish = puente(tmp_path, "triage", "--locale", "es", stdin=stdin)
    assert english.returncode == spanish.returncode == 0, english.stderr + spanish.stderr
    (reason,) = json.loads(english.stdout)["reasons"]
    (razon,) = json.loads(spanish.stdout)["reasons"]
    assert reason.startswith("intent to kill oneself: '")
    assert razon.startswith("intención de quitarse la vida: '")

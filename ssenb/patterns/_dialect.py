"""Which known system a stream looks like: the clues of each dialect weighed on a
sample of its rows.

Rules of this module:

- Clues on data look at a bounded sample (the first 5000 events and the last 500),
  so recognising a dialect costs the same on any length of stream.
- The answer carries its evidence: the clues that held and the rows that show them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._catalog import Clue, Dialect, _dialects
from ._classify import _events_of

__all__ = ["DialectResult", "dialect"]


@dataclass(repr=False)
class DialectResult:
    """Which known system a stream looks like.

    Attributes:
        name: the dialect's name, or ``"unknown"``.
        title: its long name.
        confidence: 0..1, the share of the dialect's clue weight that the stream shows.
        evidence: one row per clue of the chosen dialect: ``clue``, ``weight``,
            ``matched``, ``rows`` (the ``seq`` of up to five rows that show it).
        candidates: every dialect with ``confidence`` and ``strength`` (matched weight
            × confidence), best first.
        vendor: for chat-completion streams, the server or service the data names
            (``"vllm"``, ``"tgi"``, ``"llama.cpp"``, ``"ollama"``, ``"lmstudio"``,
            ``"deepseek"``, ``"mistral"``, ``"groq"``, ``"openrouter"``), else ``None``.
    """

    name: str
    title: str
    confidence: float
    evidence: pd.DataFrame
    candidates: pd.DataFrame
    aliases: tuple[str, ...] = ()
    token_stream: bool = False
    dialect: Dialect | None = field(default=None, repr=False)
    vendor: str | None = None

    def __repr__(self) -> str:
        return f"<DialectResult {self}>"

    def __str__(self) -> str:
        if self.name == "unknown":
            return "dialect: unknown (no known system fits)"
        seen = self.evidence[self.evidence["matched"]]["clue"].tolist()
        by = f", vendor {self.vendor}" if self.vendor else ""
        return (
            f"dialect: {self.name} ({self.title}{by}), confidence "
            f"{self.confidence:.2f}; evidence: {'; '.join(seen)}"
        )


_SAMPLE = 5000


def _clue_rows(clue: Clue, ctx: dict[str, Any]) -> tuple[bool, list[int]]:
    """Whether a clue holds, and the seq of up to five rows that show it."""
    rows: list[int] = []
    if clue.types:
        sel = ctx["events"][ctx["events"]["type"].isin(clue.types)]
        rows += sel["seq"].head(5).tolist()
    if clue.json:
        sample = ctx["sample"]
        hit = sample["data"].str.contains(clue.json, regex=True).fillna(False)
        rows += sample.loc[hit.astype(bool), "seq"].head(5).tolist()
    if clue.comment:
        com = ctx["comments"]
        hit = com["data"].str.contains("(?i)" + clue.comment, regex=True)
        rows += com.loc[hit.fillna(False).astype(bool), "seq"].head(5).tolist()
    if clue.id:
        ids = ctx["sample"].dropna(subset=["id"])
        hit = ids["id"].str.contains(clue.id, regex=True).fillna(False)
        rows += ids.loc[hit.astype(bool), "seq"].head(5).tolist()
    if clue.blank:
        rows += ctx["blanks"]["seq"].head(5).tolist()
    if clue.data_only:
        ev = ctx["events"]
        if len(ev) and bool((ev["type"] == "message").all()):
            return True, ev["seq"].head(3).tolist()
        return False, []
    return bool(rows), rows[:5]


_CHAT_FAMILY = ("openai", "openai-compatible", "groq", "openrouter")
_MISTRAL_MODELS = re.compile(
    r"^(?:mistral|magistral|codestral|ministral|pixtral|devstral|open-mistral)"
)


def _vendor(sample: pd.DataFrame) -> str | None:
    """The server or service a chat-completion stream names in its data, from the
    first JSON chunks: fingerprints, id forms, extra fields and model names."""
    for text in sample["data"].head(50).tolist():
        if not isinstance(text, str) or not text.startswith("{"):
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        fp = str(obj.get("system_fingerprint") or "")
        cid = str(obj.get("id") or "")
        model = str(obj.get("model") or "")
        choices = [c for c in obj.get("choices") or [] if isinstance(c, dict)]
        if "x_groq" in obj:
            return "groq"
        if cid.startswith("gen-") and "provider" in obj:
            return "openrouter"
        if re.fullmatch(r"[0-9.]+-(?:sha-[0-9a-f]+|native)", fp) or (
            obj.get("object") == "text_completion"
            and any("delta" in c for c in choices)
        ):
            return "tgi"
        if "timings" in obj or re.fullmatch(r"b[0-9]+-[0-9a-f]+", fp):
            return "llama.cpp"
        if fp == "fp_ollama":
            return "ollama"
        if fp and fp == model:
            return "lmstudio"
        if any("stop_reason" in c for c in choices) or "prompt_token_ids" in obj:
            return "vllm"
        if model.startswith("deepseek-") and "/" not in model:
            return "deepseek"
        if _MISTRAL_MODELS.match(model):
            return "mistral"
    return None


def dialect(capture_or_events: Any, *, threshold: float = 0.3) -> DialectResult:
    """Which known system a stream looks like, with a confidence and the rows that
    decided it; ``"unknown"`` when nothing fits.

    Why: knowing the dialect says how to read the stream (where the text of an LLM
    answer is, what a ping looks like, how it ends).

    The dialect with the most matched clue weight × confidence wins; confidence is the
    share of its clue weight the stream shows. Clues on data look at the first 5000
    events (and the last 500).

    Example:
        >>> d = dialect(capture); d.name, round(d.confidence, 2)
        ('openai', 1.0)
    """
    events_all = _events_of(capture_or_events)
    frame = events_all
    if "seq" not in frame.columns:
        frame = frame.assign(seq=np.arange(len(frame)))
    kind = frame["kind"]
    events = frame[kind == "event"]
    sample = (
        events
        if len(events) <= _SAMPLE + 500
        else pd.concat([events.head(_SAMPLE), events.tail(500)])
    )
    if "id" not in sample.columns:
        sample = sample.assign(id=pd.array([None] * len(sample), dtype="string"))
    comments = frame[kind == "comment"]
    if len(comments) > _SAMPLE:
        comments = comments.drop_duplicates("data").head(_SAMPLE)
    blanks = frame[(kind == "blank") & (frame["type"] == "")]
    if "id" in frame.columns:
        blanks = blanks[blanks["id"].isna()]
    ctx = {"events": events, "sample": sample, "comments": comments, "blanks": blanks}

    rows_out = []
    best: tuple[float, float, Dialect, list[dict[str, Any]]] | None = None
    for d in _dialects():
        ev_rows = []
        total = matched_w = 0.0
        ruled_out = False
        for clue in d.clues:
            ok, rows = _clue_rows(clue, ctx)
            total += clue.weight
            if ok:
                matched_w += clue.weight
            elif clue.required:
                ruled_out = True
            ev_rows.append(
                {"clue": clue.what, "weight": clue.weight, "matched": ok, "rows": rows}
            )
        conf = 0.0 if ruled_out or not total else matched_w / total
        strength = conf * matched_w
        rows_out.append(
            {
                "dialect": d.name,
                "title": d.title,
                "confidence": conf,
                "strength": strength,
            }
        )
        if conf >= threshold and (best is None or strength > best[0]):
            best = (strength, conf, d, ev_rows)
    cand = (
        pd.DataFrame(rows_out)
        .sort_values(["strength", "confidence"], ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    if best is None:
        return DialectResult(
            "unknown",
            "no known system",
            0.0,
            pd.DataFrame(columns=["clue", "weight", "matched", "rows"]),
            cand,
        )
    _, conf, d, ev_rows = best
    vendor = None
    if d.name in _CHAT_FAMILY:
        vendor = _vendor(sample) or (d.name if d.name != "openai" else None)
        if d.name == "openai" and vendor is not None:
            # chunks OpenAI's way, from a server the data names: the compatible
            # dialect, with its own evidence
            d = next(x for x in _dialects() if x.name == "openai-compatible")
            row = cand[cand["dialect"] == d.name].iloc[0]
            conf = float(row["confidence"])
            ev_rows = [
                {"clue": c.what, "weight": c.weight, "matched": ok, "rows": rows}
                for c in d.clues
                for ok, rows in [_clue_rows(c, ctx)]
            ]
    return DialectResult(
        d.name,
        d.title,
        conf,
        pd.DataFrame(ev_rows),
        cand,
        aliases=d.aliases,
        token_stream=d.token_stream,
        dialect=d,
        vendor=vendor,
    )

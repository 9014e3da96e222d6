"""Teach a tiny family model (family_models.py) to say its family's scripted reply, so tchat
can be tried by hand on a real model folder: the reply streams from the real Transformers
engine, in the family's own output shape (Qwen3's <think>, DeepSeek-R1 starting inside the
thinking, gpt-oss harmony channels from token ids).

    .venv/bin/python -m tests.helpers.parrot qwen3 /tmp/parrot/qwen3 [STEPS]
    .venv/bin/tchat -m /tmp/parrot/qwen3 --device cpu   # then type "hello"

A few hundred Adam steps on four prompts: about a minute on two CPU cores (gpt-oss, a MoE,
several). Greedy decoding (`[generation] do_sample = false`) repeats it best; other prompts
get a garbled version. Not used by the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers.family_models import FAMILIES, build_family

PROMPTS = ("hello", "Is 2^31 - 1 prime?", "tell me a joke", "lists vs tuples?")


def teach(name: str, folder: Path, steps: int = 160) -> Path:
    """Build `name`'s tiny model in `folder` and fit it to its reply after each prompt."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reply = FAMILIES[name].reply
    build_family(name, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    rows = []
    for prompt in PROMPTS:
        head = tok.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
        rows.append(
            (
                tok(head, add_special_tokens=False)["input_ids"],
                tok(reply, add_special_tokens=False)["input_ids"],
            )
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for step in range(steps):
        for head_ids, reply_ids in rows[step % 2 :: 2]:
            ids = torch.tensor([head_ids + reply_ids])
            labels = torch.tensor([[-100] * len(head_ids) + reply_ids])
            model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    model.save_pretrained(folder)
    return folder


if __name__ == "__main__":
    teach(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 160)

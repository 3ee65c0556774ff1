#!/usr/bin/env python3
"""How far can *choosing* first-person statements go on the ConvAI2 evaluation file?

usage: eval_frontier.py GOLD.jsonl [SCORE_DIR]

Takes every declarative first-person clause of the dialogue verbatim ("i have two dogs",
"my favorite band is up"), groups the clauses by their first two words and the message's
position in the dialogue (0, 1, 2, 3, 4+), and adds whole groups best-first, ranked by
how often their clauses match *some* gold line. The ranking peeks at the gold, so the
frontier it prints is optimistic for any real extractor. It scores each step with
score.py's own matching (imported from SCORE_DIR, default ../shared/eval) and prints
predicted, precision and recall_said.
"""
import collections
import json
import os
import re
import sys

gold_path = sys.argv[1]
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "eval"))
from score import dice, words  # noqa: E402

recs = [json.loads(line) for line in open(gold_path, encoding="utf-8") if line.strip()]
gold = [[words(g) for g in r["gold_facts"]] for r in recs]
said = []
for r, gw in zip(recs, gold):
    sw = set().union(*(words(m) for m in r["messages"])) if r["messages"] else set()
    said.append([bool(g & sw) for g in gw])
n_said = sum(map(sum, said))

cands = []  # (record, group, content words)
for ri, r in enumerate(recs):
    for mi, m in enumerate(r["messages"]):
        for sent in re.split(r"[.!?]", m):
            for cl in re.split(r",| but | and i | so i | because ", sent):
                cl = cl.strip()
                if re.match(r"(i|i'm|i've|my) ", cl + " ") and words(cl):
                    cands.append((ri, (" ".join(cl.split()[:2]), min(mi, 4)), words(cl)))

rate = collections.defaultdict(lambda: [0, 0])
for ri, g, w in cands:
    rate[g][0] += 1
    rate[g][1] += any(dice(w, x) >= 0.5 for x in gold[ri])
order = sorted((g for g in rate if rate[g][0] >= 20), key=lambda g: -rate[g][1] / rate[g][0])


def score(selected):
    by = collections.defaultdict(list)
    for ri, g, w in cands:
        if g in selected:
            by[ri].append(w)
    n = tp = tp_said = 0
    for ri, ps in by.items():
        n += len(ps)
        pairs = sorted(((dice(p, x), i, j) for i, p in enumerate(ps) for j, x in enumerate(gold[ri])), reverse=True)
        up, ug = set(), set()
        for s, i, j in pairs:
            if s < 0.5:
                break
            if i not in up and j not in ug:
                up.add(i)
                ug.add(j)
        tp += len(up)
        tp_said += sum(1 for j in ug if said[ri][j])
    return n, tp / max(n, 1), tp_said / n_said


print(json.dumps({"candidates": len(cands), "groups": len(order)}))
selected = set()
for k, g in enumerate(order):
    selected.add(g)
    if k % 8 == 0 or k == len(order) - 1:
        n, p, rs = score(selected)
        print(json.dumps({"groups": len(selected), "predicted": n, "precision": round(p, 3), "recall_said": round(rs, 3)}))

#!/usr/bin/env python3
"""Score the offline extractor on the turn-level MSC file, by conversation halves.

usage: scripts/eval_extract.py MEMORYD GOLD.jsonl [--context] [--symmetric-stem] [--misses FILE]
                               [--json]

Runs `MEMORYD extract` (EXTRACTOR=rules) over GOLD, then score.py (next to GOLD's folder,
../score.py) over three sets: all records, the dev half (conversations valid_N with N even:
the half the rules were tuned on) and the held-out half (N odd). --context gives each record
the partner's previous turn in the same session as a {"role": "assistant"} message (read,
never mined). --misses writes the gold facts no prediction matched, with the message.
--symmetric-stem scores with score.py's stemmer made to give a verb's base and third-person
forms one stem (it strips "es" from "likes" but nothing from "like": "lik" against "like"), by
also dropping a final "e" after its suffix rule (docs/EXTRACTION.md, "Why the targets are
not reached"). A second measurement beside the plain one, not a replacement.
"""
import argparse, json, os, re, subprocess, sys, tempfile

SYMMETRIC_WRAPPER = """import importlib.util, sys
spec = importlib.util.spec_from_file_location("score", {score})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
plain = m.stem
def stem(w):
    s = plain(w)
    return s[:-1] if len(s) > 3 and s.endswith("e") else s
m.stem = stem
sys.argv[0] = {score}
m.main()
"""

def conv_of(rid):  # msc-s2-valid_12-u03 -> (s2, 12, 3)
    m = re.match(r"msc-(s\d)-valid_(\d+)-u(\d+)", rid)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("memoryd"); ap.add_argument("gold")
    ap.add_argument("--context", action="store_true")
    ap.add_argument("--symmetric-stem", action="store_true")
    ap.add_argument("--misses"); ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    recs = [json.loads(l) for l in open(a.gold, encoding="utf-8") if l.strip()]
    score = os.path.join(os.path.dirname(os.path.abspath(a.gold)), "..", "score.py")
    tmp = tempfile.mkdtemp(prefix="eval_extract.")
    inp = os.path.join(tmp, "in.jsonl")
    prev = {}
    with open(inp, "w", encoding="utf-8") as f:
        for r in recs:
            c = conv_of(r["id"])
            msgs = list(r["messages"])
            if a.context and c and (c[0], c[1], c[2] - 1) in prev:
                msgs = [{"role": "assistant", "content": prev[(c[0], c[1], c[2] - 1)]}] + msgs
            if c:
                prev[c] = r["messages"][0] if r["messages"] else ""
            f.write(json.dumps({"id": r["id"], "user_id": r["user_id"], "messages": msgs}) + "\n")
    scorer = score  # what scores; --misses reads score.py's own words() and dice()
    if a.symmetric_stem:  # score.py itself, with its stem() wrapped
        scorer = os.path.join(tmp, "score_symmetric.py")
        with open(scorer, "w") as f:
            f.write(SYMMETRIC_WRAPPER.format(score=json.dumps(score)))
    pred = os.path.join(tmp, "pred.jsonl")
    env = dict(os.environ, EXTRACTOR="rules")
    with open(inp) as i, open(pred, "w") as o:
        subprocess.run([a.memoryd, "extract"], stdin=i, stdout=o, env=env, check=False)
    out = {}
    for name, keep in (("all", lambda c: True), ("dev", lambda c: c[1] % 2 == 0),
                       ("heldout", lambda c: c[1] % 2 == 1)):
        g = os.path.join(tmp, name + ".gold.jsonl")
        with open(g, "w") as f:
            for r in recs:
                c = conv_of(r["id"])
                if c is None or keep(c):
                    f.write(json.dumps(r) + "\n")
        res = subprocess.run([sys.executable, scorer, g, pred, "--json"], capture_output=True,
                             text=True, check=True)
        s = json.loads(res.stdout)
        empty = sum(1 for r in recs if not r["gold_facts"] and (conv_of(r["id"]) is None or keep(conv_of(r["id"]))))
        s["no_fact_turns"] = empty
        s["facts_per_no_fact_turn"] = round(s["predicted_where_no_gold"] / empty, 4) if empty else 0
        out[name] = s
    if a.json:
        print(json.dumps(out))
    else:
        for name, s in out.items():
            print(f"{name:8} P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
                  f"pred {s['predicted']} gold {s['gold']} no-fact {s['predicted_where_no_gold']}/"
                  f"{s['no_fact_turns']} ({s['facts_per_no_fact_turn']:.3f})")
    if a.misses:
        sys.path.insert(0, os.path.dirname(score))
        import importlib.util
        spec = importlib.util.spec_from_file_location("score", score)
        sc = importlib.util.module_from_spec(spec); spec.loader.exec_module(sc)
        preds, cats = {}, {}
        for l in open(pred):
            r = json.loads(l); preds[r["id"]] = [f["text"] for f in r["facts"]]
            cats[r["id"]] = [f["category"] for f in r["facts"]]
        with open(a.misses, "w") as f:
            for r in recs:
                P = [sc.words(p) for p in preds.get(r["id"], [])]
                G = [sc.words(g) for g in r["gold_facts"]]
                pairs = sorted(((sc.dice(p, g), i, j) for i, p in enumerate(P) for j, g in enumerate(G)), reverse=True)
                up, ug = set(), set()
                for s_, i, j in pairs:
                    if s_ < 0.5: break
                    if i in up or j in ug: continue
                    up.add(i); ug.add(j)
                f.write(json.dumps({"id": r["id"], "msg": r["messages"][0] if r["messages"] else "",
                                    "missed": [g for j, g in enumerate(r["gold_facts"]) if j not in ug],
                                    "hit": [g for j, g in enumerate(r["gold_facts"]) if j in ug],
                                    "wrong": [p for i, p in enumerate(preds.get(r["id"], [])) if i not in up],
                                    "right": [p for i, p in enumerate(preds.get(r["id"], [])) if i in up],
                                    "wrong_cat": [p for i, p in enumerate(cats.get(r["id"], [])) if i not in up],
                                    "right_cat": [p for i, p in enumerate(cats.get(r["id"], [])) if i in up]}) + "\n")

if __name__ == "__main__":
    main()

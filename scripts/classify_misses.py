#!/usr/bin/env python3
"""Tables the gold facts of the turn-level file by kind of statement, hit or missed.

usage: scripts/classify_misses.py MISSES.jsonl [--half dev|heldout|all] [--examples N]
MISSES.jsonl comes from scripts/eval_extract.py --misses. The kind is a keyword guess on the
gold fact (first match in the order below); "in the turn" means at least half of the gold
fact's content words occur in the message (a rule could copy it), the rest need the
partner's turn or an inference.
"""
import argparse, collections, json, os, re, sys, importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = [
    ("plans and wishes", r"\b(want|wants|plan|plans|planning|going to|gonna|will|hope|hoping|would like|'d like|wish|looking forward|thinking (about|of)|intend|try to|trying to|need to|might|should)\b"),
    ("past events", r"\b(went|was|were|did|had|used to|visited|got|took|made|bought|saw|met|tried|started|finished|won|lost|ago|last (year|week|month|summer|night|time)|once|recently|just)\b"),
    ("likes and dislikes", r"\b(like|likes|love|loves|enjoy|enjoys|favorite|favourite|fan of|hate|hates|prefer|prefers|into|dislike|passionate|interested in|can't stand)\b"),
    ("family and relationships", r"\b(wife|husband|married|divorced|single|boyfriend|girlfriend|kids?|children|child|son|daughter|sons|daughters|mom|mother|dad|father|parents?|brother|sister|siblings?|grand\w*|family|baby|pregnant|cousin|aunt|uncle|friend|friends|partner|fianc\w*|nephew|niece)\b"),
    ("pets", r"\b(dogs?|cats?|pets?|puppy|puppies|kitten|horses?|fish|birds?|parrot|hamster|rabbit)\b"),
    ("work and school", r"\b(work|works|job|career|boss|office|company|business|employed|retired|nurse|teacher|doctor|school|college|university|class|classes|degree|student|study|studies|major|shift|coworkers?|manager|owner|salary|hired|fired)\b"),
    ("places", r"\b(live|lives|from|moved|city|town|state|country|house|home|apartment|neighborhood)\b"),
    ("possessions", r"\b(have|has|own|owns|got)\b"),
    ("habits and activities", r"\b(go|goes|play|plays|usually|often|always|never|every|sometimes|daily|weekly|watch|read|cook|run|walk|swim|drive|eat|drink|travel|practice|spend)\b"),
    ("states and traits", r"\b(am|i'm|is|are|feel|feels)\b"),
]

def kind(text):
    t = text.lower()
    for name, rx in KINDS:
        if re.search(rx, t):
            return name
    return "other"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("misses"); ap.add_argument("--half", default="dev")
    ap.add_argument("--examples", type=int, default=0)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("score", os.path.join(
        os.environ.get("EVAL_DIR", os.path.join(HERE, "..", "..", "shared", "eval")), "score.py"))
    sc = importlib.util.module_from_spec(spec); spec.loader.exec_module(sc)
    tab = collections.defaultdict(lambda: [0, 0, 0])  # hit, missed in turn, missed needs context
    ex = collections.defaultdict(list)
    for l in open(a.misses):
        r = json.loads(l)
        m = re.match(r"msc-s\d-valid_(\d+)-", r["id"])
        if m and a.half != "all" and (int(m.group(1)) % 2 == 0) != (a.half == "dev"):
            continue
        said = sc.words(r["msg"])
        for g in r["hit"]:
            tab[kind(g)][0] += 1
        for g in r["missed"]:
            gw = sc.words(g)
            in_turn = bool(gw) and len(gw & said) * 2 >= len(gw)
            tab[kind(g)][1 if in_turn else 2] += 1
            if len(ex[kind(g)]) < a.examples and in_turn:
                ex[kind(g)].append((g, r["msg"][:160]))
    rows = sorted(tab.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))
    tot = [sum(v[i] for _, v in rows) for i in range(3)]
    print("| kind of statement | gold | found | missed, in the turn | missed, needs partner/inference | recall |")
    print("|---|---|---|---|---|---|")
    for k, (h, mi, mc) in rows + [("all", tot)]:
        n = h + mi + mc
        print(f"| {k} | {n} | {h} | {mi} | {mc} | {h / n:.2f} |" if n else f"| {k} | 0 | | | | |")
    cat = collections.defaultdict(lambda: [0, 0])
    for l in open(a.misses):
        r = json.loads(l)
        m = re.match(r"msc-s\d-valid_(\d+)-", r["id"])
        if m and a.half != "all" and (int(m.group(1)) % 2 == 0) != (a.half == "dev"):
            continue
        for c in r.get("right_cat", []): cat[c][0] += 1
        for c in r.get("wrong_cat", []): cat[c][1] += 1
    if cat:
        print("\n| category of the predicted fact | predicted | right | precision |")
        print("|---|---|---|---|")
        for c, (h, w) in sorted(cat.items(), key=lambda kv: -sum(kv[1])):
            print(f"| {c} | {h + w} | {h} | {h / (h + w):.2f} |")
    for k, es in ex.items():
        if not es:
            continue
        print("\n##", k)
        for g, m in es:
            print("  GOLD:", g, "\n   MSG:", m)

if __name__ == "__main__":
    main()

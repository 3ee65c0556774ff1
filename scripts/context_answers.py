#!/usr/bin/env python3
"""How much of the turn-level gold needs the partner's question (docs/EXTRACTION.md).

usage: scripts/context_answers.py GOLD.jsonl [--half dev|heldout|all]

Takes the turns whose partner's previous utterance (same session) ends its last question as
a yes/no question to the user ("do/are/have/did/... you") and whose reply opens with an
answer ("yes", "no", "i do", "not yet"...), and sorts their gold facts by where their content
words are: at least half in the reply alone (a rule over the reply can copy them), or only
with the question and the reply together (a rule must turn the question into a statement).
"""
import argparse, json, re

QUESTION = re.compile(r"(?i)(do|are|have|did|were|is|does|would|can|will)\s+(you|your)\b")
ANSWER = re.compile(r"(?i)\s*(yes|yeah|yep|yup|no|nope|not yet|i do|i don't|i am|i'm not|"
                    r"i have|i haven't|of course|definitely|sure)\b")
STOP = set("i a an the my me to of and is am are was be in on at for it that this have has had "
           "do did not no yes".split())


def conv_of(rid):  # msc-s2-valid_12-u03 -> (s2, 12, 3)
    m = re.match(r"msc-(s\d)-valid_(\d+)-u(\d+)", rid)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def words(text):
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w not in STOP]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gold")
    ap.add_argument("--half", choices=["dev", "heldout", "all"], default="dev")
    a = ap.parse_args()
    keep = {"dev": lambda n: n % 2 == 0, "heldout": lambda n: n % 2 == 1,
            "all": lambda n: True}[a.half]
    prev, out = {}, {"gold": 0, "questions": 0, "answers": 0, "answer_gold": 0,
                     "in_reply": 0, "needs_question": 0}
    for line in open(a.gold, encoding="utf-8"):
        r = json.loads(line)
        c = conv_of(r["id"])
        if c is None:
            continue
        partner = prev.get((c[0], c[1], c[2] - 1))
        reply = r["messages"][0] if r["messages"] else ""
        prev[c] = reply
        if not keep(c[1]):
            continue
        out["gold"] += len(r["gold_facts"])
        questions = re.findall(r"([^.?!]*\?)", partner or "")
        if not questions or not QUESTION.match(questions[-1].strip()):
            continue
        out["questions"] += 1
        if not ANSWER.match(reply):
            continue
        out["answers"] += 1
        in_reply = set(words(reply))
        in_both = in_reply | set(words(questions[-1])) | {"you", "your"}
        for g in r["gold_facts"]:
            gw = words(g)
            if not gw:
                continue
            out["answer_gold"] += 1
            if sum(w in in_reply for w in gw) / len(gw) >= 0.5:
                out["in_reply"] += 1
            elif sum(w in in_both for w in gw) / len(gw) >= 0.5:
                out["needs_question"] += 1
    print(json.dumps(out))


if __name__ == "__main__":
    main()

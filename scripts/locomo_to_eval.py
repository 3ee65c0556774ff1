#!/usr/bin/env python3
"""Convert LoCoMo conversations to the evaluation format of ../shared/eval/score.py.

usage: locomo_to_eval.py LOCOMO_JSON_DIR_OR_FILES... > locomo_users.jsonl

LoCoMo (snap-research/locomo, data/locomo10.zip) holds long multi-session chats in normal
written English with per-session "observations": third-person facts about each speaker
("Caroline attended an LGBTQ support group"). One record per speaker:
{"id": "locomo-<conversation>-<Speaker>", "user_id": same, "messages": [what the speaker
said, in order], "gold_facts": [that speaker's observations]}. score.py recognises the
"locomo" ids and drops the speaker's name from the gold facts before matching.

The data is not part of this repository; this script only reads it.
"""
import glob
import json
import os
import sys


def sessions(conv):
    k = 1
    while f"session_{k}_date_time" in conv or f"session_{k}" in conv:
        yield conv.get(f"session_{k}", []), conv.get(f"session_{k}_observation", {})
        k += 1


def main(paths):
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    if not files:
        sys.exit("usage: locomo_to_eval.py LOCOMO_JSON_DIR_OR_FILES...")
    for fn in files:
        with open(fn, encoding="utf-8") as f:
            conv = json.load(f)
        conv = conv.get("conversation", conv)  # both released layouts
        cid = os.path.splitext(os.path.basename(fn))[0]
        for speaker in (conv["speaker_a"], conv["speaker_b"]):
            messages, gold = [], []
            for turns, observations in sessions(conv):
                messages += [t["text"] for t in turns if t.get("speaker") == speaker]
                gold += [o[0] for o in observations.get(speaker, [])]
            uid = f"locomo-{cid}-{speaker}"
            print(json.dumps({"id": uid, "user_id": uid, "messages": messages, "gold_facts": gold}))


if __name__ == "__main__":
    main(sys.argv[1:])

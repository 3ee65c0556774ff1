#!/usr/bin/env python3
"""How closely two running memoryd instances (e.g. one on SQLite, one on PostgreSQL) agree on
fact search: loads each user's facts into both through POST /v1/users/{id}/facts, asks every
query of DATA on both through GET /v1/users/{id}/facts/search?limit=10, and prints

  overlap@10    mean |top10(A) & top10(B)| / max(|top10(A)|, |top10(B)|) (1 when both are empty)
  same_top1     share of queries whose first result is the same fact
  same_order    share of queries with the same facts in the same order
  kendall_tau   mean Kendall rank correlation over the facts both returned (queries with >= 2)

  retrieval_agreement.py DATA.json --a http://127.0.0.1:8080 --b http://127.0.0.1:8081 [--token T]

DATA.json as for ../shared/eval/score_retrieval.py: {"users": {id: [text]}, "queries":
[{"user_id", "q"}]}. User ids are prefixed with a run id, so servers can be reused."""
import argparse
import json
import time
import urllib.parse
import urllib.request


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def load(base, users, run, token):
    idx = {}  # (user, fact id) -> fact index
    for u, facts in users.items():
        uid = urllib.parse.quote(run + u, safe="")
        for i, f in enumerate(facts):
            b = call(base, "POST", f"/v1/users/{uid}/facts", {"text": f, "category": "other"}, token)
            idx.setdefault((u, b["fact"]["id"]), i)
    return idx


def ranked(base, idx, run, q, token):
    uid = urllib.parse.quote(run + q["user_id"], safe="")
    qs = urllib.parse.urlencode({"q": q["q"], "limit": 10})
    b = call(base, "GET", f"/v1/users/{uid}/facts/search?{qs}", None, token)
    return [idx[(q["user_id"], r["id"])] for r in b["results"]]


def kendall(a, b):
    common = [x for x in a if x in b]
    if len(common) < 2:
        return None
    pos_b = {x: i for i, x in enumerate(b)}
    conc = disc = 0
    for i in range(len(common)):
        for j in range(i + 1, len(common)):
            if pos_b[common[i]] < pos_b[common[j]]:
                conc += 1
            else:
                disc += 1
    return (conc - disc) / (conc + disc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--token")
    a = ap.parse_args()
    d = json.load(open(a.data))
    run = "agree%d-" % int(time.time() * 1000)
    ia, ib = load(a.a, d["users"], run, a.token), load(a.b, d["users"], run, a.token)
    overlap, top1, order, taus = [], 0, 0, []
    for q in d["queries"]:
        ra, rb = ranked(a.a, ia, run, q, a.token), ranked(a.b, ib, run, q, a.token)
        overlap.append(len(set(ra) & set(rb)) / max(len(ra), len(rb)) if ra or rb else 1.0)
        top1 += bool(ra and rb and ra[0] == rb[0]) or (not ra and not rb)
        order += ra == rb
        t = kendall(ra, rb)
        if t is not None:
            taus.append(t)
    n = len(d["queries"])
    print(json.dumps({"queries": n, "overlap@10": round(sum(overlap) / n, 4),
                      "same_top1": round(top1 / n, 4), "same_order": round(order / n, 4),
                      "kendall_tau": round(sum(taus) / max(len(taus), 1), 4)}))


if __name__ == "__main__":
    main()

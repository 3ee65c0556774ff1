#!/usr/bin/python3
"""The ranking of store/search/engine.cpp re-implemented in Python, stage by stage, to measure
what each stage is worth without a server (docs/RETRIEVAL.md). With every stage of the shipped
method on ({"exc":1,"syn":1,"trunc":1,"nb":0.2,"tdown":0.3,"repair":1,"broader":0.3}) it
reproduces the server's numbers
on the dev file exactly; the other options are the variants that were tried and not kept.

  retrieval_ablation.py DATA.json '{"exc":1,...}' [tune|held|all|26|30|41|loo]

tune: the queries of every conversation but conv-41; held: conv-41 only; a number (26, 30, 41):
that conversation only; loo: leave one conversation out (repair and the broader weight chosen
on the other two), the held-out scores pooled. Needs Debian's python3-stemmer (the same Snowball
library as memoryd) and wordnet-base; run it with /usr/bin/python3.

Options: repair (a word WordNet does not know: its one-edit corrections of 6+ bytes and its
split into two known words of 4+ bytes, weight 0.5), broader (facts indexed with the words of
their nouns' first-sense hypernyms, matched at this share of a query key's weight, for keys
of weight >= broader_min: 1 in the service), exc (WordNet
irregular forms), syn (WordNet base forms and first-sense synonyms,
weight syn_w, default 0.3, senses), trunc (prefix classes of 5 bytes, weight stempre_w 0.5),
nb (neighbour share), tdown (weight of time words), k1, b; tried and not kept: stempre (prefix
either way), fuzzy (edit distance 1), when (answer-type boost for "when"), prf (pseudo-relevance
feedback), qstop (question words as stop words), nbw/nbdecay (wider neighbour windows)."""
import json, math, re, sys, collections
import Stemmer

ST = Stemmer.Stemmer('english')
# Snowball's English stop list (snowballstem.org/algorithms/english/stop.txt)
STOP = set("""i me my myself we our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves what which who whom
this that these those am is are was were be been being have has had having do does did doing
would should could ought i'm you're he's she's it's we're they're i've you've we've they've i'd
you'd he'd she'd we'd they'd i'll you'll he'll she'll we'll they'll isn't aren't wasn't weren't
hasn't haven't hadn't doesn't don't didn't won't wouldn't shan't shouldn't can't cannot couldn't
mustn't let's that's who's what's here's there's when's where's why's how's a an the and but if
or because as until while of at by for with about against between into through during before
after above below to from up down in out on off over under again further then once here there
when where why how all any both each few more most other some such no nor not only own same so
than too very""".split())

WN = '/usr/share/wordnet/'

def load_exc():
    m = collections.defaultdict(set)
    for pos in ('verb', 'noun', 'adj'):
        for line in open(WN + pos + '.exc'):
            p = line.split()
            for base in p[1:]:
                if '_' in base or '_' in p[0]:
                    continue
                m[p[0]].add(base)
                m[base].add(p[0])
    return m

RULES = {'noun': [('s', ''), ('ses', 's'), ('xes', 'x'), ('zes', 'z'), ('ches', 'ch'), ('shes', 'sh'), ('men', 'man'), ('ies', 'y')],
         'verb': [('s', ''), ('ies', 'y'), ('es', 'e'), ('es', ''), ('ed', 'e'), ('ed', ''), ('ing', 'e'), ('ing', '')],
         'adj': [('er', ''), ('est', ''), ('er', 'e'), ('est', 'e')], 'adv': []}

def morphy(w, idx, exc):
    # base forms of w that WordNet knows, per part of speech
    out = set()
    for pos in ('noun', 'verb', 'adj', 'adv'):
        if w in idx[pos]:
            out.add(w)
        for b in exc.get(pos, {}).get(w, ()):
            if b in idx[pos]:
                out.add(b)
        for suf, rep in RULES[pos]:
            if w.endswith(suf) and len(w) > len(suf) + 1:
                b = w[:len(w) - len(suf)] + rep
                if b in idx[pos]:
                    out.add(b)
    return out

def load_syn(max_senses, deriv=False, hyper=False):
    # word -> synonyms from its first max_senses senses (index order = frequency order)
    offs = {}
    data = {}
    syn = collections.defaultdict(set)
    pending = []; alldata = {}
    syn_idx = {}
    exc = {}
    for pos in ('noun', 'verb', 'adj'):
        exc[pos] = collections.defaultdict(set)
        for line in open(WN + pos + '.exc'):
            p = line.split()
            for b in p[1:]: exc[pos][p[0]].add(b)
    for pos in ('noun', 'verb', 'adj', 'adv'):
        syn_idx[pos] = set()
        lines = {}
        ptrs = {}
        for line in open(WN + 'data.' + pos, encoding='latin-1'):
            if line.startswith('  '):
                continue
            p = line.split()
            n = int(p[3], 16)
            words = [p[4 + 2 * i].lower() for i in range(n)]
            words = [re.sub(r'\(.*\)', '', w) for w in words]
            lines[p[0]] = words
            k = 4 + 2 * n
            np_ = int(p[k]); rel = []
            for j in range(np_):
                sym, off, ps, st = p[k+1+4*j:k+5+4*j]
                if (deriv and sym == '+') or (hyper and sym in ('@', '~')):
                    rel.append((off, ps, st))
            ptrs[p[0]] = rel
        for line in open(WN + 'index.' + pos, encoding='latin-1'):
            if line.startswith('  '):
                continue
            p = line.split()
            lemma = p[0]
            if '_' in lemma:
                continue
            nsyn = int(p[2])
            offsets = p[-nsyn:]
            syn_idx[pos].add(lemma)
            for o in offsets[:max_senses]:
                for w in lines.get(o, []):
                    if w != lemma and '_' not in w:
                        syn[lemma].add(w)
                for off, ps, st in ptrs.get(o, []):
                    pending.append((lemma, off, ps, st))
        alldata[pos[0]] = lines
    for lemma, off, ps, st in pending:
        tgt = alldata.get({'s':'a'}.get(ps, ps), {}).get(off, [])
        t = int(st[2:], 16)
        words = tgt if t == 0 else tgt[t-1:t]
        for w in words:
            if '_' not in w and w != lemma: syn[lemma].add(w)
    return syn, syn_idx, exc

def load_broader():
    # noun lemma -> words of its first sense's hypernyms and instance hypernyms
    data = {}
    for line in open(WN + 'data.noun', encoding='latin-1'):
        if line.startswith('  '):
            continue
        p = line.split()
        n = int(p[3], 16)
        words = [re.sub(r'\(.*\)', '', p[4 + 2 * i].lower()) for i in range(n)]
        k = 4 + 2 * n
        ptr = [p[k + 2 + 4 * j] for j in range(int(p[k])) if p[k + 1 + 4 * j] in ('@', '@i') and p[k + 3 + 4 * j] == 'n']
        data[p[0]] = (words, ptr)
    out = {}
    for line in open(WN + 'index.noun', encoding='latin-1'):
        if line.startswith('  '):
            continue
        p = line.split()
        if '_' in p[0]:
            continue
        first = p[-int(p[2])]
        ws = []
        for off in data[first][1]:
            for w in data[off][0]:
                for x in w.split('_'):
                    if x and x not in ws: ws.append(x)
        out[p[0]] = ws
    return out

def edits1(w):
    s = set()
    for i in range(len(w) + 1):
        if i < len(w): s.add(w[:i] + w[i + 1:])
        if i + 1 < len(w): s.add(w[:i] + w[i + 1] + w[i] + w[i + 2:])
        for c in 'abcdefghijklmnopqrstuvwxyz':
            if i < len(w): s.add(w[:i] + c + w[i + 1:])
            s.add(w[:i] + c + w[i:])
    return s

def toks(s):
    s = s.lower().replace("’", "'")
    out = []
    for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", s):
        if w in STOP:
            continue
        if w.endswith("'s"):
            w = w[:-2]
        w = w.replace("'", "")
        if w in STOP or not w:
            continue
        out.append(w)
    return out

QSTOP = set("kind kinds type types sort sorts way ways many much long often likely might thing things".split())

def stem(w):
    return ST.stemWord(w)

TEMPORAL = set(stem(w) for w in """ago yesterday today tonight tomorrow last next recently recent
lately soon week weeks weekend weekends month months year years day days
morning evening night afternoon since january february march april may june july august september
october november december monday tuesday wednesday thursday friday saturday sunday summer winter
spring fall autumn earlier later""".split())

def ed1(a, b):
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if len(a) > len(b): a, b = b, a
    for i in range(len(b)):
        if b[:i] + b[i+1:] == a: return True
    return False

class Ranker:
    def __init__(self, opts):
        self.o = opts
        self.exc = load_exc() if opts.get('exc') else {}
        self.syn, self.widx, self.wexc = load_syn(opts.get('senses', 1), opts.get('deriv'), opts.get('hyper')) if opts.get('syn') else ({}, None, None)
        self.lemmas = set().union(*self.widx.values()) if self.widx else set()
        self.up = load_broader() if opts.get('broader') else {}

    def index(self, facts):
        self.docs = [[stem(w) for w in toks(f)] for f in facts]
        self.n = len(self.docs)
        self.avg = sum(map(len, self.docs)) / max(1, self.n)
        self.df = collections.Counter(t for d in self.docs for t in set(d))
        self.vocab = sorted(self.df)
        self.xdocs = []
        for f in facts:
            ws = toks(f); have = {stem(w) for w in ws}; x = []
            for w in ws:
                for base in (morphy(w, self.widx, self.wexc) if self.up else ()):
                    for h in self.up.get(base, ()):
                        if h in STOP: continue
                        if stem(h) not in have: x.append(stem(h)); have.add(stem(h))
            self.xdocs.append(x)
        self.xdf = collections.Counter(t for d in self.xdocs for t in set(d))

    def qterms(self, q):
        # (term, weight, prefix?)
        terms = {}
        def add(t, w, pre=False):
            k = (t, pre)
            terms[k] = max(terms.get(k, 0), w)
        words = toks(q)
        if self.o.get('qstop'):
            words = [w for w in words if w not in QSTOP]
        for w in words:
            s = stem(w)
            if self.o.get('tdown') and (w.isdigit() or s in TEMPORAL):
                add(s, self.o['tdown'])
                continue
            add(s, 1.0)
            for e in self.exc.get(w, ()):
                add(stem(e), self.o.get('exc_w', 1.0))
            if self.syn:
                for base in morphy(w, self.widx, self.wexc):
                    if base != w: add(stem(base), self.o.get('exc_w', 1.0))
                    for y in self.syn.get(base, ()) if w.isalpha() and len(w) > 2 else ():
                        if stem(y) != s: add(stem(y), self.o.get('syn_w', 0.3))
            if self.o.get('prefix') and len(s) >= self.o.get('prefix_min', 4):
                add(s, self.o.get('prefix_w', 0.5), True)
            if self.o.get('repair') and w.isalpha() and len(w) > 2 and self.widx and not morphy(w, self.widx, self.wexc):
                best = None
                for i in range(4, len(w) - 3):
                    a, b = w[:i], w[i:]
                    if morphy(a, self.widx, self.wexc) and morphy(b, self.widx, self.wexc):
                        ev = min(i, len(w) - i)
                        if best is None or ev > best[0] or (ev == best[0] and (a, b) > best[1]): best = (ev, (a, b))
                if best:
                    for x in best[1]: add(stem(x), 0.5)
                if len(w) >= 6:
                    for e in sorted(edits1(w)):
                        if e != w and e in self.lemmas: add(stem(e), 0.5)
        return terms

    def vocab_expand(self, qt):
        out = dict(qt)
        self.asked = {t for (t, pre) in qt if not pre}
        for (t, pre), w in qt.items():
            if pre or len(t) < 5: continue
            for v in self.vocab:
                if v == t: continue
                if self.o.get('trunc') and len(v) >= 5 and v[:5] == t[:5]:
                    out[(v, False)] = max(out.get((v, False), 0), w * self.o.get('stempre_w', 0.5))
                elif self.o.get('stempre') and (v.startswith(t) or t.startswith(v)) and min(len(v), len(t)) >= 5:
                    out[(v, False)] = max(out.get((v, False), 0), w * self.o.get('stempre_w', 0.5))
                elif self.o.get('fuzzy') and t not in self.df and abs(len(v) - len(t)) <= 1 and ed1(v, t):
                    out[(v, False)] = max(out.get((v, False), 0), w * self.o.get('fuzzy_w', 0.7))
        return out

    def idf(self, df):
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def rank(self, q, created):
        k1, b = self.o.get('k1', 1.2), self.o.get('b', 0.75)
        qt = self.vocab_expand(self.qterms(q))
        qwords = set(re.findall(r'[a-z]+', q.lower()))
        when = 'when' in qwords and self.o.get('when')
        scores = []
        for i, d in enumerate(self.docs):
            tf = collections.Counter(d)
            s = 0.0
            norm = k1 * (1 - b + b * len(d) / self.avg)
            for (t, pre), w in qt.items():
                if pre:
                    f = sum(c for x, c in tf.items() if x.startswith(t) and x != t)
                    df = sum(1 for dd in self.docs if any(x.startswith(t) and x != t for x in dd))
                else:
                    f = tf.get(t, 0)
                    df = self.df.get(t, 0)
                if f:
                    s += w * self.idf(df) * f * (k1 + 1) / (f + norm)
            if self.o.get('broader'):
                xd = set(self.xdocs[i])
                for (t, pre), w in qt.items():
                    if not pre and t in self.asked and t in xd and w >= self.o.get('broader_min', 0):
                        s += self.o['broader'] * w * self.idf(self.df.get(t, 0) + self.xdf[t]) * (k1 + 1) / (1 + norm)
            if when and s > 0 and any(t in TEMPORAL for t in d):
                s += self.o.get('when_w', 0.5)
            scores.append((s, created[i], i))
        if self.o.get('prf'):
            top = sorted(scores, key=lambda x: -x[0])[:self.o['prf']]
            cnt = collections.Counter()
            for sc, c, i in top:
                if sc <= 0: continue
                for t in set(self.docs[i]): cnt[t] += 1
            extra = {}
            for t, c in cnt.items():
                if c >= 2 and (t, False) not in qt:
                    extra[(t, False)] = self.o.get('prf_w', 0.2) * c / self.o['prf']
            if extra:
                for k2, (sc, c, i) in enumerate(scores):
                    d = self.docs[i]; tf = collections.Counter(d)
                    norm = k1 * (1 - b + b * len(d) / self.avg)
                    add = sum(w * self.idf(self.df[t]) * tf[t] * (k1 + 1) / (tf[t] + norm) for (t, _), w in extra.items() if tf.get(t))
                    scores[k2] = (sc + add, c, i)
        if self.o.get('nb'):
            base = [x[0] for x in scores]
            lam = self.o['nb']
            for i in range(len(scores)):
                W = self.o.get('nbw', 1)
                nb = max([base[j] * (self.o.get('nbdecay', 0.5) ** (abs(j - i) - 1)) for j in range(i - W, i + W + 1) if j != i and 0 <= j < len(base)] or [0])
                scores[i] = (base[i] + lam * nb, scores[i][1], scores[i][2])
        scores.sort(key=lambda x: (-x[0], -x[1]))
        return [i for s, c, i in scores]

def evaluate(path, opts, split):
    d = json.load(open(path))
    r = Ranker(opts)
    hits = {1: 0, 5: 0, 10: 0}
    rr = 0
    n = 0
    cache = {}
    for q in d['queries']:
        held = 'conv-41' in q['user_id']
        if (split == 'tune' and held) or (split == 'held' and not held):
            continue
        if split.isdigit() and f'conv-{split}-' not in q['user_id']:
            continue
        u = q['user_id']
        facts = d['users'][u]
        r.index(facts)
        ranked = r.rank(q['q'], list(range(len(facts))))
        gold = set(q['gold'])
        n += 1
        for k in hits:
            if gold & set(ranked[:k]):
                hits[k] += 1
        for p, i in enumerate(ranked[:10]):
            if i in gold:
                rr += 1 / (p + 1)
                break
    return {'n': n, **{f'hit@{k}': round(v / n, 4) for k, v in hits.items()}, 'mrr': round(rr / n, 4)}

def leave_one_out(path, base):
    # each conversation held out in turn: repair on/off and the broader weight chosen on the
    # other two (by hit@5 + hit@10), scored on it; the held-out scores pooled
    grid = {}
    for rep in (0, 1):
        for bw in (0, 0.2, 0.3, 0.5):
            o = dict(base, repair=rep, broader=bw)
            grid[(rep, bw)] = {c: evaluate(path, o, c) for c in ('26', '30', '41')}
    tot = collections.Counter()
    for held in ('26', '30', '41'):
        tune = [c for c in ('26', '30', '41') if c != held]
        def score(g):
            return sum((grid[g][c]['hit@5'] + grid[g][c]['hit@10']) * grid[g][c]['n'] for c in tune)
        best = max(grid, key=lambda g: (round(score(g), 6), -g[0], -g[1]))
        r = grid[best][held]
        print(json.dumps({'held': held, 'chosen': {'repair': best[0], 'broader': best[1]}, **r}))
        for k in ('hit@5', 'hit@10', 'mrr'):
            tot[k] += r[k] * r['n']
        tot['n'] += r['n']
    print(json.dumps({'pooled': {k: round(tot[k] / tot['n'], 4) for k in ('hit@5', 'hit@10', 'mrr')}}))

if __name__ == '__main__':
    if len(sys.argv) > 3 and sys.argv[3] == 'loo':
        leave_one_out(sys.argv[1], json.loads(sys.argv[2]))
        sys.exit(0)
    opts = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    split = sys.argv[3] if len(sys.argv) > 3 else 'all'
    print(json.dumps(opts), json.dumps(evaluate(sys.argv[1], opts, split)))

# A deliberately naive reference matcher (flatten every leaf, try every combination) used to
# produce testdata/expected/*.tsv: per-rule match counts that the CLI must reproduce exactly.
# usage: python3 reference_matcher.py RULES.jsonl EVENTS.jsonl
import json, sys, re, itertools
def leaves(v, path, trail, out, ctr):
    if isinstance(v, dict):
        for k, x in v.items(): leaves(x, path + (k,), trail, out, ctr)
    elif isinstance(v, list):
        ctr[0] += 1; aid = ctr[0]
        for i, x in enumerate(v):
            # an object, or an array in an array (whose objects belong to this element, as in EventBridge)
            if isinstance(x, (dict, list)): leaves(x, path, trail + ((aid, i),), out, ctr)
            else: leaves(x, path, trail, out, ctr)
    else: out.append((path, v, trail))
def fold(s): return s.casefold()
def wc(p, s):
    rx = '^' + '.*'.join(re.escape(x) for x in p.split('*')) + '$'
    return re.match(rx, s, re.S) is not None
def atom(a, v):
    isstr = isinstance(v, str); isnum = isinstance(v, (int, float)) and not isinstance(v, bool)
    if isinstance(a, str): return isstr and v == a
    if isinstance(a, bool): return isinstance(v, bool) and v == a
    if a is None: return v is None
    if isinstance(a, (int, float)): return isnum and float(v) == float(a)
    (op, arg), = a.items()
    if op == 'prefix':
        if isinstance(arg, dict): return isstr and fold(v).startswith(fold(arg['equals-ignore-case']))
        return isstr and v.startswith(arg)
    if op == 'suffix':
        if isinstance(arg, dict): return isstr and fold(v).endswith(fold(arg['equals-ignore-case']))
        return isstr and v.endswith(arg)
    if op == 'equals-ignore-case': return isstr and fold(v) == fold(arg)
    if op == 'wildcard': return isstr and wc(arg, v)
    if op == 'numeric':
        if not isnum: return False
        ok = True
        for o, x in zip(arg[::2], arg[1::2]):
            ok = ok and {'=': v == x, '<': v < x, '<=': v <= x, '>': v > x, '>=': v >= x}[o]
        return ok
    if op == 'anything-but':
        if isinstance(arg, dict):
            (o2, a2), = arg.items()
            lst = a2 if isinstance(a2, list) else [a2]
            if not isstr: return True  # only strings can be excluded by a string form (EventBridge)
            if o2 == 'prefix': return not any(v.startswith(x) for x in lst)
            if o2 == 'suffix': return not any(v.endswith(x) for x in lst)
            if o2 == 'equals-ignore-case': return not any(fold(v) == fold(x) for x in lst)
            if o2 == 'wildcard': return not any(wc(x, v) for x in lst)
        lst = arg if isinstance(arg, list) else [arg]
        if lst and isinstance(lst[0], str): return not (isstr and v in lst)
        return not (isnum and any(float(v) == float(x) for x in lst))
    if op == 'regexp': return isstr and re.fullmatch(arg, v) is not None
    raise Exception(op)
def conds(p, path=()):
    out = []
    for k, v in p.items():
        if isinstance(v, dict): out += conds(v, path + (k,))
        else: out.append((path + (k,), v))
    return out
def compat(t1, t2):
    for a, b in zip(t1, t2):
        if a[0] != b[0]: return True
        if a[1] != b[1]: return False
    return True
def match(p, fields):
    cs = conds(p)
    cands = []
    for path, alts in cs:
        c = [f for f in fields if f[0] == path and any(atom(a, f[1]) for a in alts)]
        if not c: return False
        cands.append(c)
    for combo in itertools.product(*cands):
        if all(compat(x[2], y[2]) for x, y in itertools.combinations(combo, 2)): return True
    return False
rules = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
events = []
for l in open(sys.argv[2]):
    if not l.strip(): continue
    out = []; leaves(json.loads(l), (), (), out, [0]); events.append(out)
for i, r in enumerate(rules):
    print(f"{i}\t{sum(1 for e in events if match(r, e))}")

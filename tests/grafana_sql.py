#!/usr/bin/env python3
# grafana_sql.py DASHBOARD.json — prints every SQL query of a Grafana dashboard (template
# variable queries and panel targets), one per line, with Grafana's macros and multi-value
# variables replaced the way Grafana expands them ("All" selected, the whole time range), so a
# test can run them with psql against the hvbench schema (tests/it_store_pg.sh).
import json, re, sys

SUBST = {
    "$host": "SELECT hostname FROM hb_runs",
    "$profile": "SELECT profile FROM hb_runs",
    "$target": "SELECT target FROM hb_metrics",
}

def expand(sql):
    sql = re.sub(r"\$__unixEpochFilter\(([^)]+)\)", r"(\1 BETWEEN 0 AND 4102444800)", sql)
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", r"(\1 IS NOT NULL)", sql)
    for var, q in SUBST.items():
        sql = sql.replace("(" + var + ")", "(" + q + ")")
    left = re.findall(r"\$\w+", sql)
    if left:
        sys.exit("unexpanded Grafana variables %s in: %s" % (left, sql))
    return " ".join(sql.split())

d = json.load(open(sys.argv[1]))
queries = [v["query"] for v in d.get("templating", {}).get("list", []) if v.get("type") == "query"]
for p in d["panels"]:
    for t in p.get("targets", []):
        queries.append(t["rawSql"])
for q in queries:
    print(expand(q))

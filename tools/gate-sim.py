#!/usr/bin/env python3
# gate-sim.py — Monte Carlo check of the regression gate's false-alarm rate and power: writes R
# baseline runs and one current run of K native rows (N units each, log-normal, unit spread
# 5%, a run-to-run level per row and run) and counts how many `hvbench compare B1 .. BR --
# CURRENT` fail. SCEN sets each row's run-to-run spread: 0 (none), half / one / two (x0.5,
# x1, x2 the unit spread, all rows), het (every other row x1.5), het1 (row 0 x3, others none).
# DELTA shifts row 0 of the current run (log scale; < 0 is a regression).
# usage: gate-sim.py HVBENCH TRIALS R N K SCEN [DELTA [SEED]]   (docs/reports.md quotes it)
import json, math, os, random, subprocess, sys, tempfile

binp, T, R, N, K, scen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), sys.argv[6]
delta = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
rnd = random.Random(int(sys.argv[8]) if len(sys.argv) > 8 else 1)
SW = 0.05
SB = {"0": lambda i: 0, "half": lambda i: 0.5 * SW, "one": lambda i: SW, "two": lambda i: 2 * SW,
      "het": lambda i: 0 if i % 2 else 1.5 * SW, "het1": lambda i: 3 * SW if i == 0 else 0}[scen]
fails = 0
with tempfile.TemporaryDirectory() as d:
    for t in range(T):
        paths = []
        for run in range(R + 1):
            res = []
            for i in range(K):
                b = rnd.gauss(0, SB(i))
                sh = delta if (run == R and i == 0) else 0
                s = [100 * math.exp(b + sh + rnd.gauss(0, SW)) for _ in range(N)]
                res.append({"target": "native", "workload": "w%d" % i, "kind": "cpu",
                            "metric": "m", "unit": "x", "higher_is_better": True,
                            "role": "detail", "area": "cpu", "comparison": "ratio",
                            "samples": s, "n": N})
            doc = {"schema": "hvbench/result/2", "status": "complete", "profile_name": "sim",
                   "started_at": "2026-01-01T00:00:00Z",
                   "targets": [{"name": "native", "kind": "native"}], "results": res}
            p = os.path.join(d, "r%d.json" % run)
            with open(p, "w") as f:
                json.dump(doc, f)
            paths.append(p)
        args = [binp, "compare"] + paths[:R] + (["--"] if R > 1 else []) + \
            [paths[R], "--format", "json"]
        o = subprocess.run(args, capture_output=True, text=True)
        fails += json.loads(o.stdout)["fail"]
print("R=%d N=%d K=%d scen=%s delta=%.2f: %d/%d compares fail (%.1f%%)" %
      (R, N, K, scen, delta, fails, T, 100.0 * fails / T))

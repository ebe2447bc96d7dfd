#!/usr/bin/env python3
"""Compare Sextant's tuning acceptance results with the Optuna peer's (optuna_peer.py).

Not run by CI. Both files share one schema ({"engine": "sextant"} or {"peer": "optuna X.Y.Z"},
"runs", optional "overhead" and "throughput"). Per (study, sampler): the median best over seeds
of each side; PASS when Sextant's median is at least as good as the peer's (branin and hartmann6
are minimised, sma_goog maximised). Overhead (median ms per ask) and throughput (trials/s) are
printed as ratios for information. Exits 1 on any FAIL or a (study, sampler) missing on one side.

Usage: compare.py SEXTANT_JSON PEER_JSON
"""

import json
import statistics
import sys

MAXIMISE = {"sma_goog"}


def medians(doc):
    groups = {}
    for r in doc["runs"]:
        groups.setdefault((r["study"], r["sampler"]), []).append(r)
    return {k: {"best": statistics.median(r["best"] for r in v), "seeds": len(v),
                "ask_ms": statistics.median(r["ask_ms_total"] / r["trials"] for r in v)}
            for k, v in groups.items()}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours, peer = (json.load(open(p)) for p in sys.argv[1:])
    name_a = ours.get("engine") or ours.get("peer", "A")
    name_b = peer.get("peer") or peer.get("engine", "B")
    a, b = medians(ours), medians(peer)
    fails = 0
    print(f"{'study':<10}{'sampler':<8}{'dir':<5}{name_a[:16]:>16}{name_b[:16]:>16}"
          f"{'ask ms/trial':>20}  verdict")
    for key in sorted(set(a) | set(b)):
        study, sampler = key
        direction = "max" if study in MAXIMISE else "min"
        if key not in a or key not in b:
            fails += 1
            print(f"{study:<10}{sampler:<8}{direction:<5}  missing on {'ours' if key not in a else 'peer'} side  FAIL")
            continue
        x, y = a[key]["best"], b[key]["best"]
        ok = x >= y if direction == "max" else x <= y
        fails += not ok
        asks = f"{a[key]['ask_ms']:.2f} vs {b[key]['ask_ms']:.2f}"
        print(f"{study:<10}{sampler:<8}{direction:<5}{x:>16.6f}{y:>16.6f}{asks:>20}  "
              f"{'PASS' if ok else 'FAIL'}  (seeds {a[key]['seeds']}/{b[key]['seeds']})")

    ov_b = {(o["history"], o.get("source", "synthetic")): o for o in peer.get("overhead", [])}
    for o in ours.get("overhead", []):
        k = (o["history"], o.get("source", "synthetic"))
        if k in ov_b:
            x, y = o["ask_ms_median"], ov_b[k]["ask_ms_median"]
            print(f"overhead history {k[0]} ({k[1]}): {x:.3f} ms vs {y:.3f} ms per ask, "
                  f"peer/ours = {y / x:.1f}x")
    if "throughput" in ours and "throughput" in peer:
        x, y = ours["throughput"]["trials_per_s"], peer["throughput"]["trials_per_s"]
        print(f"throughput: {x:.2f} vs {y:.2f} trials/s, ours/peer = {x / y:.1f}x")
    print(f"{fails} FAIL" if fails else "all PASS")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()

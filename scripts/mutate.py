#!/usr/bin/env python3
"""mutate.py: mutation testing of the machines' guard and effect code.

For each machine (core/fsm_conn.c, core/fsm_rest.c, core/fsm_pub.c) the
lines from its guard function (`X_guards`) to the end of its effect code
(the line before `X_check`) are mutated by universalmutator (`mutate FILE c
--noCheck --lines ...`). A sample of at most --max mutants, drawn with a
fixed seed, is run: each mutant is copied over its file in a private copy
of the tree, the fast machine and core tests are rebuilt and run, and the
mutant is

    invalid   the copy does not compile (not counted),
    killed    a test fails, crashes or runs past its time limit,
    survived  every test passes.

Survivors are compared with tests/mutants.txt, where each known survivor is
listed as

    FILE | ORIGINAL LINE | MUTATED LINE | equivalent: REASON
    FILE | ORIGINAL LINE | MUTATED LINE | killed by: TEST NAME

(lines stripped of surrounding blanks). A survivor the list does not
explain is printed and makes the run fail. The kill rate and the run time
are printed at the end and written to build/mutate/report.txt.

    scripts/mutate.py [--max N] [--seed S] [--mutate PATH-TO-mutate]

Run by `make mutate` (which installs universalmutator from PyPI into a
virtual environment under build/). Not part of `make test`: about 2 s a
mutant.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

MACHINES = ["core/fsm_conn.c", "core/fsm_rest.c", "core/fsm_pub.c"]
TESTS = ["test_fsm_spec", "test_fsm_scenarios", "test_core",
         "test_fsm_labels", "test_fsm_effects", "test_fsm_conn",
         "test_fsm_compose", "test_core_rest"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def code_range(path):
    """First and last line (1-based) of the guard and effect code."""
    name = os.path.basename(path)[len("fsm_"):-len(".c")]
    with open(path) as f:
        lines = f.read().split("\n")
    first = last = None
    for i, line in enumerate(lines, 1):
        if first is None and re.match(r"^uint32_t %s_guards\(" % name, line):
            first = i
        if re.match(r"^int %s_check\(" % name, line):
            last = i - 1
    if first is None or last is None or last <= first:
        sys.exit("mutate: cannot find %s_guards .. %s_check in %s"
                 % (name, name, path))
    return first, last, lines


def generate(tool, tree, out):
    """Every mutant of every machine: (path, line number, original, new,
    mutant file)."""
    mutants = []
    for rel in MACHINES:
        src = os.path.join(tree, rel)
        first, last, lines = code_range(src)
        ldir = os.path.join(out, "gen", os.path.basename(rel)[:-2])
        os.makedirs(ldir, exist_ok=True)
        lines_file = os.path.join(ldir, "lines.txt")
        with open(lines_file, "w") as f:
            for n in range(first, last + 1):
                f.write("%d\n" % n)
        subprocess.run([tool, src, "c", "--noCheck", "--mutantDir", ldir,
                        "--lines", lines_file], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fn in sorted(os.listdir(ldir)):
            if ".mutant." not in fn:
                continue
            mpath = os.path.join(ldir, fn)
            with open(mpath) as f:
                mlines = f.read().split("\n")
            diff = [i for i in range(min(len(lines), len(mlines)))
                    if lines[i] != mlines[i]]
            if len(mlines) != len(lines) or len(diff) != 1:
                continue
            i = diff[0]
            mutants.append((rel, i + 1, lines[i].strip(), mlines[i].strip(),
                            mpath))
    return mutants


def known(path):
    """tests/mutants.txt: {(file, original, mutated): verdict}."""
    table = {}
    if not os.path.exists(path):
        return table
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(" | ")]
            if len(parts) != 4:
                sys.exit("mutate: %s:%d: want FILE | ORIGINAL | MUTATED | "
                         "VERDICT" % (path, n))
            table[(parts[0], parts[1], parts[2])] = parts[3]
    return table


def build(tree, build_dir):
    targets = [os.path.join(build_dir, "tests", t) for t in TESTS]
    # the project's own flags (-Werror included): a mutant the build
    # refuses could never ship, it counts as invalid
    r = subprocess.run(["make", "-s", "-C", tree, "BUILD=" + build_dir]
                       + targets, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


def run_tests(build_dir):
    for t in TESTS:
        try:
            r = subprocess.run([os.path.join(build_dir, "tests", t)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=20,
                               cwd=ROOT)
        except subprocess.TimeoutExpired:
            return t + " (timeout)"
        if r.returncode != 0:
            return t
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--mutate", default="mutate")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mutate"))
    args = ap.parse_args()

    t0 = time.time()
    out = os.path.abspath(args.out)
    tree = os.path.join(out, "tree")
    build_dir = os.path.join(out, "build")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        if rel.startswith("fixtures/"):
            continue
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dst)
    if not build(tree, build_dir) or run_tests(build_dir) is not None:
        sys.exit("mutate: the unmutated tree does not build or pass")

    mutants = generate(args.mutate, tree, out)
    rng = random.Random(args.seed)
    sample = mutants if len(mutants) <= args.max else \
        rng.sample(mutants, args.max)
    sample.sort(key=lambda m: (m[0], m[1], m[3]))
    table = known(os.path.join(ROOT, "tests", "mutants.txt"))

    killed = survived = invalid = 0
    unexplained = []
    lines = []
    for k, (rel, ln, orig, new, mpath) in enumerate(sample, 1):
        target = os.path.join(tree, rel)
        keep = open(target).read()
        shutil.copy(mpath, target)
        try:
            if not build(tree, build_dir):
                invalid += 1
                verdict = "invalid"
            else:
                by = run_tests(build_dir)
                if by is not None:
                    killed += 1
                    verdict = "killed by " + by
                else:
                    survived += 1
                    verdict = "SURVIVED"
                    why = table.get((rel, orig, new))
                    if why is None or why.startswith("killed by"):
                        unexplained.append((rel, ln, orig, new))
                    else:
                        verdict += " (" + why + ")"
        finally:
            with open(target, "w") as f:
                f.write(keep)
        lines.append("%s:%d: %s  =>  %s: %s" % (rel, ln, orig, new, verdict))
        print("[%d/%d] %s" % (k, len(sample), lines[-1]), flush=True)
    build(tree, build_dir)

    valid = killed + survived
    rate = 100.0 * killed / valid if valid else 0.0
    summary = ("mutate: %d mutants generated, %d sampled (seed %d): %d "
               "killed, %d survived, %d invalid; kill rate %.1f%% in %.0f s"
               % (len(mutants), len(sample), args.seed, killed, survived,
                  invalid, rate, time.time() - t0))
    with open(os.path.join(out, "report.txt"), "w") as f:
        f.write("\n".join(lines) + "\n" + summary + "\n")
    print(summary)
    if unexplained:
        print("mutate: survivors tests/mutants.txt does not explain "
              "(add a test that kills each, or list it as equivalent):")
        for rel, ln, orig, new in unexplained:
            print("  %s | %s | %s |   (line %d)" % (rel, orig, new, ln))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

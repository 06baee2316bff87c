#!/usr/bin/python3
"""bar_codec_check.py: third-party check of the bar encodings (docs/bars.md).

Runs build/tests/test_bar_codec with BAR_DUMP_DIR set, which writes the four
fixture bars and 2000 random ones as barNNNNN.json + barNNNNN.msgpack, then
reads every pair with Python's json (numbers as Decimal, exact) and
python3-msgpack, and checks:
  - both are one object/map with the same keys in the same order, "v" first;
  - strings, integers and flags agree; no NaN/Infinity in the JSON;
  - each double's JSON text reads back (correctly rounded) as the msgpack
    float64, bit for bit (-0 included), and has the digits of repr(), the
    shortest round-trip form;
  - each volume's JSON text is an exact decimal within its scale, and the
    msgpack float64 is the double nearest to it;
  - msgpack.packb of the decoded map gives back the same bytes (canonical).
Optional: if python3-msgpack is missing it says so and exits 0. Not run by
`make test`; the C tests never depend on it.

    /usr/bin/python3 tests/bar_codec_check.py [path/to/test_bar_codec]
"""
import decimal
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import msgpack
except ImportError:
    print("bar_codec_check: python3-msgpack not installed "
          "(apt-get install python3-msgpack); skipped")
    sys.exit(0)

DOUBLES = {"open", "high", "low", "close", "vwap"}
VOLUMES = {"volume": 12, "quote_volume": 20, "buy_volume": 12,
           "sell_volume": 12}


def bits(x):
    return struct.pack(">d", x)


def norm(text):
    """Significant digits and exponent: value = 0.DIGITS x 10^e."""
    t = text.lstrip("-")
    mant, _, ex = t.partition("e") if "e" in t else t.partition("E")
    ex = int(ex) if ex else 0
    intp, _, frac = mant.partition(".")
    digits = (intp + frac).lstrip("0")
    lead = len(intp + frac) - len(digits)
    point = len(intp)
    digits = digits.rstrip("0")
    if not digits:
        return ("", 0)
    return (digits, point - lead + ex)


def no_constants(name):
    raise ValueError("JSON constant %s" % name)


def check_pair(js_bytes, mp_bytes):
    """Returns a list of problems (empty when fine)."""
    bad = []
    text = js_bytes.decode("utf-8")
    jpairs = json.loads(text, parse_float=decimal.Decimal,
                        parse_int=decimal.Decimal,
                        parse_constant=no_constants,
                        object_pairs_hook=list)
    mpairs = msgpack.unpackb(mp_bytes, raw=False, strict_map_key=False,
                             object_pairs_hook=list)
    jkeys = [k for k, _ in jpairs]
    mkeys = [k for k, _ in mpairs]
    if jkeys != mkeys:
        bad.append("key order differs: %s vs %s" % (jkeys, mkeys))
        return bad
    if jkeys[0] != "v" or jpairs[0][1] != 1 or mpairs[0][1] != 1:
        bad.append("v is not first or not 1")
    # the raw number texts, in order, from our compact JSON
    for (k, jv), (_, mv) in zip(jpairs, mpairs):
        if k in DOUBLES:
            f = float(jv)
            if bits(f) != bits(mv):
                bad.append("%s: JSON %s -> %r, msgpack %r" % (k, jv, f, mv))
            if norm(str(jv)) != norm(repr(mv)):
                bad.append("%s: %s is not the shortest (%r)" % (k, jv, mv))
        elif k in VOLUMES:
            scale = VOLUMES[k]
            exp = jv.as_tuple().exponent
            if isinstance(exp, int) and exp < -scale:
                bad.append("%s: %s has more than %d decimals" %
                           (k, jv, scale))
            if not isinstance(mv, float) or bits(float(jv)) != bits(mv):
                bad.append("%s: msgpack %r is not the double nearest %s" %
                           (k, mv, jv))
        elif k == "flags":
            if jv != mv:
                bad.append("flags %s vs %s" % (jv, mv))
        elif isinstance(mv, str):
            if jv != mv:
                bad.append("%s: %r vs %r" % (k, jv, mv))
        elif isinstance(mv, int):
            if jv != mv or jv.as_tuple().exponent != 0:
                bad.append("%s: %s vs %d" % (k, jv, mv))
        else:
            bad.append("%s: unexpected msgpack type %r" % (k, type(mv)))
    again = msgpack.packb(dict(mpairs), use_bin_type=True)
    if again != mp_bytes:
        bad.append("msgpack.packb does not give the same bytes")
    return bad


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "build", "tests", "test_bar_codec")
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BAR_DUMP_DIR=tmp)
        run = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        if run.returncode != 0:
            sys.stdout.write(run.stdout.decode("utf-8", "replace"))
            print("bar_codec_check: %s failed" % binary)
            print("0 passed, 1 failed")
            return 1
        names = sorted(n[:-5] for n in os.listdir(tmp) if n.endswith(".json"))
        for name in names:
            with open(os.path.join(tmp, name + ".json"), "rb") as f:
                js = f.read()
            with open(os.path.join(tmp, name + ".msgpack"), "rb") as f:
                mp = f.read()
            try:
                bad = check_pair(js, mp)
            except Exception as e:  # malformed input is a failure too
                bad = ["%s: %s" % (type(e).__name__, e)]
            if bad:
                failed += 1
                if failed <= 10:
                    print("%s: %s" % (name, "; ".join(bad)))
            else:
                passed += 1
    print("bar_codec_check: %d bar pairs checked with Python json/Decimal "
          "and msgpack %s" % (passed + failed,
                              ".".join(map(str, msgpack.version))))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

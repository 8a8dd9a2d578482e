#!/usr/bin/env python3
"""Generates vectors.json, the published test vectors of mlci's route bucket.

The vectors come from this script and Python's hashlib only, never from the
Go package they check, so an error in one shows up as a disagreement.

    python3 gen_vectors.py > vectors.json
"""
import hashlib
import json

BUCKETS = 10000
# Canary shares in basis points (percent x 100) at which on_canary is given.
SHARES_BP = [1, 500, 2000, 5000, 9999, 10000]


def bucket(rollout_id: str, key: str) -> int:
    d = hashlib.sha256((rollout_id + ":" + key).encode("utf-8")).digest()
    return int.from_bytes(d[:8], "big") % BUCKETS


CASES = [
    ("digits#production@v1.3.0", "user-1"),
    ("digits#production@v1.3.0", "user-2"),
    ("digits#production@v1.3.0", "user-42"),
    ("digits#production@v1.3.0", "user-63"),  # on the canary from 5 %
    ("digits#production@v1.3.0", "user-104"),
    ("digits#production@v1.3.0", "user-15"),  # joins the canary at 20 %
    ("digits#production@v1.3.0", "user-5610"),  # bucket 0: on the canary at 0.01 %
    ("digits#production@v1.3.0", "a"),  # one byte
    ("digits#production@v1.3.0", "0"),
    ("digits#production@v1.3.0", " "),
    ("digits#production@v1.3.0", ":"),  # the separator itself
    ("digits#production@v1.4.0", "user-1"),  # same key, another rollout
    ("digits#staging@v1.3.0", "user-1"),
    ("", "user-1"),  # no rollout id: still defined
    ("fraud-model#production@2024-06-01", "8f14e45f-ceea-467a-9575-bd1a4ee3b1b6"),
    ("digits#production@v1.3.0", "ünïcödé"),
    ("digits#production@v1.3.0", "用户-7"),
    ("digits#production@v1.3.0", "🙂"),  # four UTF-8 bytes
    ("modèle#production@v2", "clé"),  # non-ASCII rollout id
    ("digits#production@v1.3.0", "x" * 200),  # longer than the Go stack buffer
    ("digits#production@v1.3.0", "k" * 4096),
    ("digits#production@v1.3.0", "tab\there\nnewline"),
]


def main() -> None:
    vectors = []
    for rollout_id, key in CASES:
        b = bucket(rollout_id, key)
        vectors.append({
            "rollout_id": rollout_id,
            "key": key,
            "key_utf8_hex": key.encode("utf-8").hex() if len(key) <= 64 else None,
            "bucket": b,
            "on_canary": [b < s for s in SHARES_BP],
        })
    doc = {
        "description": "bucket = uint64_be(SHA-256(utf8(rollout_id + ':' + key))[0:8]) % 10000; "
                       "on_canary[i] = bucket < shares_bp[i]",
        "generator": "route/testdata/gen_vectors.py",
        "shares_bp": SHARES_BP,
        "vectors": vectors,
    }
    print(json.dumps(doc, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Writes the drifting example's tables: train.csv (the reference), calm.csv
(new data like it) and current.csv (age older, the pro plan more popular,
income missing more often). Seeded, so it writes the same bytes each time:
python3 gen.py"""
import random

def table(path, seed, n, age_shift, pro, income_missing):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("customer_id,age,income,plan,active,churned\n")
        for i in range(n):
            u = rng.random()
            plan = "pro" if u < pro else ("team" if u < pro + 0.2 else "basic")
            income = "" if rng.random() < income_missing else "%.0f" % rng.lognormvariate(10.5, 0.4)
            active = "true" if rng.random() < 0.7 else "false"
            f.write("%d,%.1f,%s,%s,%s,%d\n" % (i, rng.gauss(41 + age_shift, 9), income, plan, active, rng.random() < 0.2))

table("train.csv", 1, 2000, 0, 0.25, 0.02)
table("calm.csv", 2, 2000, 0, 0.25, 0.02)
table("current.csv", 3, 2000, 6, 0.45, 0.10)

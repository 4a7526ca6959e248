#!/usr/bin/env python3
"""Writes the e-commerce purchase pairs the core benchmarks read:
"user,item" lines after a header, one per distinct (customer, stock code)
among rows with a customer, a positive quantity and price, and an invoice not
starting with C (266,792 pairs).
Usage: bench/retail_pairs.py [../shared/data/online-retail/purchases.csv.gz] > /tmp/pairs.csv"""
import csv
import gzip
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/online-retail/purchases.csv.gz"
pairs = set()
with gzip.open(path, "rt", newline="") as f:
    for row in csv.DictReader(f):
        if (row["customer_id"] and not row["invoice"].startswith("C")
                and float(row["quantity"]) > 0 and float(row["unit_price"]) > 0):
            pairs.add((row["customer_id"], row["stock_code"]))
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["user", "item"])
out.writerows(sorted(pairs))

#!/usr/bin/env python3
"""Writes "user,item" pairs (one per distinct pair, after a header) of a shared
data set, for the core accuracy benchmarks (bench/accuracy_core):
  online-retail      customers' purchases (customer, positive quantity and price, not a C invoice)
  online-retail-ii   the same rules on the 2009-2010 year
  complete-journey   households' purchased products
  clickstream        sessions' clicked products (a session is a user)
Usage: bench/pairs.py NAME [../shared/data] > /tmp/NAME.csv"""
import csv
import gzip
import os
import sys

name = sys.argv[1]
root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../shared/data")
pairs = set()


def rows(path, **kw):
    with gzip.open(os.path.join(root, path), "rt", newline="") as f:
        yield from csv.DictReader(f, **kw)


if name == "online-retail":
    for r in rows("online-retail/purchases.csv.gz"):
        if (r["customer_id"] and not r["invoice"].startswith("C")
                and float(r["quantity"]) > 0 and float(r["unit_price"]) > 0):
            pairs.add((r["customer_id"], r["stock_code"]))
elif name == "online-retail-ii":
    for r in rows("online-retail-ii-2009-2010/online_retail_ii_2009_2010.csv.gz"):
        if (r["Customer ID"] and not r["Invoice"].startswith("C")
                and float(r["Quantity"]) > 0 and float(r["Price"]) > 0):
            pairs.add((r["Customer ID"], r["StockCode"]))
elif name == "complete-journey":
    for r in rows("complete-journey/transactions_sample.csv.gz"):
        if float(r["quantity"]) > 0:
            pairs.add((r["household_id"], r["product_id"]))
elif name == "clickstream":
    for r in rows("eshop-clickstream-2008/eshop_clothing_2008_clicks.csv.gz"):
        pairs.add((r["session ID"], r["page 2 (clothing model)"]))
else:
    sys.exit("unknown data set " + name)
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["user", "item"])
out.writerows(sorted(pairs))

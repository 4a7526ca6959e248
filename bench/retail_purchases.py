#!/usr/bin/env python3
"""Writes the e-commerce purchases bench/features_core reads:
"user,item,ts,quantity,price" lines after a header (ts: seconds since the
epoch, the invoice time read as UTC), one per invoice line with a customer, a
positive quantity and price, and an invoice not starting with C (the rows
bench/retail_pairs.py keeps, not collapsed to pairs). Also reads Online
Retail II and the complete-journey grocery transactions (household, product,
timestamp, quantity, price = sales value / quantity; rows with a positive
quantity and sales value).
Usage: bench/retail_purchases.py [../shared/data/online-retail/purchases.csv.gz] > /tmp/purchases.csv"""
import csv
import gzip
import sys
from datetime import datetime, timezone

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/online-retail/purchases.csv.gz"
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["user", "item", "ts", "quantity", "price"])
# Online Retail II (online-retail-ii-2009-2010) names the same columns its own way.
II_NAMES = {"Invoice": "invoice", "StockCode": "stock_code", "Quantity": "quantity", "InvoiceDate": "invoice_date",
            "Price": "unit_price", "Customer ID": "customer_id"}
with gzip.open(path, "rt", newline="") as f:
    for row in csv.DictReader(f):
        if "household_id" in row:
            q, value = float(row["quantity"]), float(row["sales_value"])
            if q > 0 and value > 0:
                ts = datetime.strptime(row["transaction_timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                out.writerow([row["household_id"], row["product_id"], int(ts.timestamp()), row["quantity"],
                              round(value / q, 4)])
            continue
        for ii, name in II_NAMES.items():
            if ii in row:
                row[name] = row[ii]
        if (row["customer_id"] and not row["invoice"].startswith("C")
                and float(row["quantity"]) > 0 and float(row["unit_price"]) > 0):
            ts = datetime.strptime(row["invoice_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            out.writerow([row["customer_id"], row["stock_code"], int(ts.timestamp()),
                          row["quantity"], row["unit_price"]])

"""Compacts the Alibaba call-graph statistics of ../shared/data/alibaba-graph-stats (Erms
artifact, computed from Alibaba's cluster-trace-microservices 2021 call graphs) into the small
tables the simulator embeds:

  depth-size.csv  depth,size,probability  from depthDistribution.csv: P(size | depth),
                  sizes above 64 folded into 64 (the simulator caps call-graph size);
  paradigm.csv    depth,rpc,http,mq,db,memcached  from communicationParadigm.csv: the share of
                  each communication paradigm among calls at a depth, weighted by `num`.

leafDistribution.csv and nodeDistribution.csv are copied unchanged.
Run from the repository root: python3 datasets/data/alibaba/aggregate.py
"""
import collections
import csv

SRC = "../shared/data/alibaba-graph-stats"
DST = "datasets/data/alibaba"

size = collections.defaultdict(lambda: collections.defaultdict(float))
for r in csv.DictReader(open(f"{SRC}/depthDistribution.csv")):
    size[int(r["depth"])][min(int(r["num"]), 64)] += float(r["percentage"])
with open(f"{DST}/depth-size.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["depth", "size", "probability"])
    for d in sorted(size):
        total = sum(size[d].values())
        for n in sorted(size[d]):
            w.writerow([d, n, f"{size[d][n] / total:.6g}"])

kinds = ["rpc", "http", "mq", "db", "memcached"]
para = collections.defaultdict(lambda: collections.defaultdict(float))
for r in csv.DictReader(open(f"{SRC}/communicationParadigm.csv")):
    para[int(r["depth"])][r["rpc_type"]] += float(r["percentage"]) * int(r["num"])
with open(f"{DST}/paradigm.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["depth"] + kinds)
    for d in sorted(para):
        total = sum(para[d].values())
        w.writerow([d] + [f"{para[d][k] / total:.6g}" for k in kinds])

#!/usr/bin/env python3
"""torch.topk on the GPU for bench/topk.mjs: reads float32 files, times torch.topk(x, k) (sorted) with CUDA
events, prints JSON {"n,k": [microseconds...]}.  python3 bench/topk_torch.py ITER FILE:K[,K...] ..."""
import json
import sys

import numpy as np
import torch

iterations = int(sys.argv[1])
out = {}
for spec in sys.argv[2:]:
    path, ks = spec.split(":")
    x = torch.from_numpy(np.fromfile(path, dtype=np.float32)).cuda()
    for k in map(int, ks.split(",")):
        for _ in range(3):
            torch.topk(x, k)
        times = []
        for _ in range(iterations):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.topk(x, k)
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) * 1000.0)
        out[f"{x.numel()},{k}"] = times
print(json.dumps(out))

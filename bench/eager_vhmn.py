#!/usr/bin/env python3
"""An eager PyTorch implementation of the V-HMN training step, for `vhmn bench` to be compared with.

Written the way a researcher would write the model in plain PyTorch (nn modules, F.normalize,
softmax, autograd), with the same computation as core/model.cpp: patch embedding, pre-norm HMN
blocks (local branch: k x k convolution query, retrieval against a class-balanced bank, refinement
z <- z + beta (m - z), 2L -> D projection; global branch on the token mean; MLP), attention pooling,
head; bank writes (tokens_per_image random tokens of each image to the local bank, the image query
to the global bank) staged in the forward pass and committed after the optimizer step as a ring
buffer per class. Same random data, batch, Adam (lr 1e-3, weight decay 5e-5), 2 warm-up steps and
median over the timed steps as `vhmn bench`.

  /usr/bin/python3 bench/eager_vhmn.py --preset cpu-tiny --batch 128 --steps 20 --threads 2
"""
import argparse
import json
import math
import resource
import statistics
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # core/models/config.cpp
    "paper-small": dict(dim=300, latent=300, depth=6, local_slots=2500, global_slots=1000),
    "cpu-small": dict(dim=128, latent=128, depth=4, local_slots=1000, global_slots=500),
    "cpu-tiny": dict(dim=64, latent=64, depth=4, local_slots=500, global_slots=200),
}


class Bank(nn.Module):
    def __init__(self, slots, dim, classes):
        super().__init__()
        self.per_class = slots // classes
        self.classes = classes
        k = self.per_class * classes
        self.register_buffer("memory", torch.zeros(k, dim))
        self.register_buffer("valid", torch.zeros(k, dtype=torch.bool))
        self.register_buffer("label", torch.full((k,), -1, dtype=torch.long))
        self.register_buffer("source", torch.full((k,), -1, dtype=torch.long))
        self.register_buffer("cursor", torch.zeros(classes, dtype=torch.long))
        self.staged = []

    def retrieve(self, z):
        if not bool(self.valid.any()):
            return z
        mhat = F.normalize(self.memory, dim=-1)
        logits = F.normalize(z, dim=-1) @ mhat.t() * math.sqrt(z.shape[-1])
        logits = logits.masked_fill(~self.valid, float("-inf"))
        return torch.softmax(logits, -1) @ self.memory

    @torch.no_grad()
    def commit(self):
        if not self.staged:
            return
        vec = torch.cat([s[0] for s in self.staged])
        lab = torch.cat([s[1] for s in self.staged])
        src = torch.cat([s[2] for s in self.staged])
        self.staged = []
        # i-th write of class c goes to c * per_class + (cursor[c] + i) % per_class.
        order = torch.argsort(lab, stable=True)
        counts = torch.bincount(lab, minlength=self.classes)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(lab)
        rank[order] = torch.arange(lab.numel()) - starts[lab[order]]
        slot = lab * self.per_class + (self.cursor[lab] + rank) % self.per_class
        self.cursor.copy_((self.cursor + counts) % self.per_class)
        # The last write of a slot wins.
        rev = torch.arange(lab.numel() - 1, -1, -1)
        uniq, first = torch.unique(slot[rev], return_inverse=True)
        pick = torch.full((uniq.numel(),), -1, dtype=torch.long).scatter_reduce(0, first, rev, "amax")
        self.memory[uniq] = vec[pick]
        self.valid[uniq] = True
        self.label[uniq] = lab[pick]
        self.source[uniq] = src[pick]


class Local(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.grid, self.t = c["grid"], 2
        self.query = nn.Conv2d(c["dim"], c["latent"], 3, padding=1)
        self.out = nn.Linear(2 * c["latent"], c["dim"])
        self.beta = nn.Parameter(torch.full((1,), 0.2))
        self.bank = Bank(c["local_slots"], c["latent"], 10)

    def forward(self, y, ctx):
        b, n, d = y.shape
        q = self.query(y.transpose(1, 2).reshape(b, d, self.grid, self.grid)).flatten(2).transpose(1, 2)
        z = q + self.beta * (self.bank.retrieve(q) - q)
        if ctx is not None and self.training:
            labels, indices = ctx
            pick = torch.rand(b, n).topk(self.t, 1).indices
            vec = q.detach().gather(1, pick.unsqueeze(-1).expand(b, self.t, q.shape[2])).reshape(-1, q.shape[2])
            self.bank.staged.append((vec, labels.repeat_interleave(self.t), indices.repeat_interleave(self.t)))
        return self.out(torch.cat([q, z], -1))


class Global(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.query = nn.Linear(c["dim"], c["latent"])
        self.out = nn.Linear(2 * c["latent"], c["dim"])
        self.beta = nn.Parameter(torch.full((1,), 0.2))
        self.bank = Bank(c["global_slots"], c["latent"], 10)

    def forward(self, y, ctx):
        q = self.query(y.mean(1))
        z = q + self.beta * (self.bank.retrieve(q) - q)
        if ctx is not None and self.training:
            self.bank.staged.append((q.detach(), ctx[0], ctx[1]))
        return self.out(torch.cat([q, z], -1)).unsqueeze(1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.local, self.glob = Local(c), Global(c)
        self.fc1, self.fc2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

    def forward(self, x, ctx):
        y = self.norm1(x)
        h = x + self.local(y, ctx) + self.glob(y, ctx)
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


class VHMN(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.embed = nn.Conv2d(3, d, 4, stride=4)
        self.pos = nn.Parameter(torch.randn(1, c["grid"] ** 2, d) * 0.02)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(d)
        self.score = nn.Linear(d, 1, bias=False)
        self.head = nn.Linear(d, 10)

    def forward(self, x, ctx=None):
        h = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        for blk in self.blocks:
            h = blk(h, ctx)
        h = self.norm(h)
        a = torch.softmax(self.score(h).squeeze(-1), -1)
        return self.head((a.unsqueeze(-1) * h).sum(1))

    def commit(self):
        for blk in self.blocks:
            blk.local.bank.commit()
            blk.glob.bank.commit()


def main():
    warnings.filterwarnings("ignore", message="scatter_reduce")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu-tiny", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c = dict(PRESETS[args.preset], grid=8)
    model = VHMN(c)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-5)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(10, (args.batch,))
    idx = torch.arange(args.batch)
    t0_cpu = resource.getrusage(resource.RUSAGE_SELF)
    train_ms, infer_ms = [], []
    model.train()
    for s in range(args.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, (y, idx)), y)
        loss.backward()
        opt.step()
        model.commit()
        if s >= 2:
            train_ms.append(1e3 * (time.perf_counter() - t0))
    t1_cpu = resource.getrusage(resource.RUSAGE_SELF)
    model.eval()
    with torch.no_grad():
        for s in range(args.steps + 2):
            t0 = time.perf_counter()
            model(x)
            if s >= 2:
                infer_ms.append(1e3 * (time.perf_counter() - t0))
    tr, inf = statistics.median(train_ms), statistics.median(infer_ms)
    print(json.dumps({
        "implementation": "eager PyTorch " + torch.__version__,
        "preset": args.preset, "batch": args.batch, "steps": args.steps, "threads": args.threads,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_img_per_s": 1e3 * args.batch / tr, "infer_img_per_s": 1e3 * args.batch / inf,
        "train_step_ms": tr, "infer_step_ms": inf,
        "train_user_s": t1_cpu.ru_utime - t0_cpu.ru_utime, "train_sys_s": t1_cpu.ru_stime - t0_cpu.ru_stime,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, indent=2))


if __name__ == "__main__":
    main()

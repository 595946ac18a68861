#!/usr/bin/env python3
"""Eager PyTorch versions of the baselines, to time against `vhmn bench --arch A` (issue 12).

The models are the C++ ones written again in PyTorch, layer for layer (same patch embedding,
blocks, LayerNorm + attention pooling + linear head, same preset sizes), trained the same way
`vhmn bench` does: random 32x32x3 images, cross entropy, Adam (lr 1e-3, weight decay 5e-5), batch B,
2 warm-up steps, then the mean of N timed steps. Prints one JSON line per architecture.

    PYTHONPATH=.torch2 python3 scripts/eager-baselines.py --threads 2 --batch 128 --steps 10
    build-torch2/app/vhmn bench --arch vit --preset cpu-tiny --batch 128 --steps 10 --threads 2

Run both with the same libtorch (the torch2 build links the wheel in .torch2) on an idle machine.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# cpu-tiny / cpu-small sizes of core/models/config.cpp: dim, depth, mlp_ratio, extra (heads, token width, pool)
SIZES = {
    "cpu-tiny": {"vit": (80, 4, 4, 4), "mixer": (96, 4, 4, 48), "poolformer": (96, 4, 4, 3)},
    "cpu-small": {"vit": (160, 4, 4, 4), "mixer": (192, 4, 4, 96), "poolformer": (192, 4, 4, 3)},
}


class Mlp(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax((q * (1.0 / math.sqrt(d // self.heads))) @ k.transpose(-2, -1), -1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, arch, d, n, r, extra, grid):
        super().__init__()
        self.arch, self.grid, self.pool = arch, grid, extra
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        if arch == "vit":
            self.attn = Attention(d, extra)
        elif arch == "mixer":
            self.token_mlp = Mlp(n, extra)
        self.mlp = Mlp(d, r * d)

    def forward(self, x):
        y = self.norm1(x)
        if self.arch == "vit":
            x = x + self.attn(y)
        elif self.arch == "mixer":
            x = x + self.token_mlp(y.transpose(1, 2)).transpose(1, 2)
        else:
            b, n, d = y.shape
            img = y.transpose(1, 2).reshape(b, d, self.grid, self.grid)
            p = F.avg_pool2d(img, self.pool, 1, self.pool // 2, count_include_pad=False)
            x = x + p.reshape(b, d, n).transpose(1, 2) - y
        return x + self.mlp(self.norm2(x))


class Net(nn.Module):
    def __init__(self, arch, d, depth, r, extra, size=32, patch=4, channels=3, classes=10):
        super().__init__()
        grid = size // patch
        n = grid * grid
        self.patch_embed = nn.Conv2d(channels, d, patch, patch)
        self.pos_embed = nn.Parameter(torch.randn(1, n, d) * 0.02) if arch == "vit" else None
        self.blocks = nn.Sequential(*[Block(arch, d, n, r, extra, grid) for _ in range(depth)])
        self.norm, self.score, self.head = nn.LayerNorm(d), nn.Linear(d, 1, bias=False), nn.Linear(d, classes)

    def forward(self, x):
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        if self.pos_embed is not None:
            t = t + self.pos_embed
        h = self.norm(self.blocks(t))
        a = torch.softmax(self.score(h).squeeze(-1), -1)
        return self.head((a.unsqueeze(-1) * h).sum(1))


def bench(arch, preset, batch, steps):
    model = Net(arch, *SIZES[preset][arch])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-5)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    return {"arch": arch, "preset": preset, "parameters": params, "batch": batch, "steps": steps,
            "train_img_per_s": batch * steps / dt, "torch": torch.__version__, "threads": torch.get_num_threads()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu-tiny", choices=sorted(SIZES))
    ap.add_argument("--arch", nargs="*", default=["vit", "mixer", "poolformer"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    for arch in a.arch:
        print(json.dumps(bench(arch, a.preset, a.batch, a.steps)), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the CIFAR-10 image folder (train/<class>/*.jpg, test/<class>/*.jpg) in the official binary
layout (cifar-10-batches-bin: data_batch_1..5.bin, test_batch.bin, batches.meta.txt).

Each record is 1 label byte + 3,072 pixel bytes (R plane, G plane, B plane, row-major 32x32).
Images are interleaved over classes (image i of every class, then image i+1, ...), so the order
differs from the folder's class-sorted one, as the official files' order does.

  /usr/bin/python3 scripts/cifar10-to-binary.py ../shared/datasets/cifar10 OUT [--limit-train N] [--limit-test N]

OUT/cifar-10-batches-bin is created. --limit-* keep the first N images of the interleaved order
(a slice, e.g. for carrying to a GPU server). Needs Pillow (Debian: python3-pil).
"""
import argparse
import os
import sys

from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def interleaved(split_dir):
    per_class = []
    for c, name in enumerate(CLASSES):
        d = os.path.join(split_dir, name)
        if not os.path.isdir(d):
            sys.exit(f"cifar10-to-binary: {d}: no such class folder")
        per_class.append([(c, os.path.join(d, f)) for f in sorted(os.listdir(d))])
    out = []
    for i in range(max(len(p) for p in per_class)):
        out.extend(p[i] for p in per_class if i < len(p))
    return out


def record(label, path):
    img = Image.open(path).convert("RGB")
    if img.size != (32, 32):
        sys.exit(f"cifar10-to-binary: {path}: {img.size[0]}x{img.size[1]}, expected 32x32")
    r, g, b = img.split()
    return bytes([label]) + r.tobytes() + g.tobytes() + b.tobytes()


def write(path, items):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for label, p in items:
            f.write(record(label, p))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    a = ap.parse_args()
    train = interleaved(os.path.join(a.folder, "train"))
    test = interleaved(os.path.join(a.folder, "test"))
    if a.limit_train:
        train = train[: a.limit_train]
    if a.limit_test:
        test = test[: a.limit_test]
    out = os.path.join(a.out, "cifar-10-batches-bin")
    os.makedirs(out, exist_ok=True)
    per = (len(train) + 4) // 5
    for k in range(5):
        write(os.path.join(out, f"data_batch_{k + 1}.bin"), train[k * per:(k + 1) * per])
    write(os.path.join(out, "test_batch.bin"), test)
    with open(os.path.join(out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    print(f"{out}: {len(train)} training and {len(test)} test images")


if __name__ == "__main__":
    main()

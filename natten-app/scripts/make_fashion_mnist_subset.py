#!/usr/bin/env python3
"""Writes the embedded Fashion-MNIST subset shipped in natten-app's resources.

Source: Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist), which
installs Zalando's original idx files under /usr/share/datasets/fashion-mnist (MIT/Expat licence).
The subset is the first TRAIN images of the training set and the first TEST images of the test
set, kept in the original idx format and gzipped with a zero timestamp so the output is
byte-for-byte reproducible. Standard library only.

usage: make_fashion_mnist_subset.py [SOURCE_DIR] [TARGET_DIR]
"""
import gzip
import os
import struct
import sys

TRAIN = 4000
TEST = 1000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4 : 4 + 4 * rank])
    return dims, data[4 + 4 * rank :]


def write_idx(path, dims, payload):
    header = struct.pack(">I", 0x0800 | len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header + payload)


def subset(source, target, split, count):
    dims, images = read_idx(os.path.join(source, f"{split}-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(source, f"{split}-labels-idx1-ubyte.gz"))
    pixels = dims[1] * dims[2]
    write_idx(
        os.path.join(target, f"{split}-images-idx3-ubyte.gz"),
        (count, dims[1], dims[2]),
        images[: count * pixels],
    )
    write_idx(os.path.join(target, f"{split}-labels-idx1-ubyte.gz"), (count,), labels[:count])
    histogram = [labels[:count].count(bytes([c])) for c in range(10)]
    print(f"{split}: {count} images, per class {histogram}")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    here = os.path.dirname(os.path.abspath(__file__))
    default_target = os.path.join(
        here, "..", "src", "main", "resources", "ai", "natten", "app", "data", "fashion-mnist"
    )
    target = sys.argv[2] if len(sys.argv) > 2 else default_target
    os.makedirs(target, exist_ok=True)
    subset(source, target, "train", TRAIN)
    subset(source, target, "t10k", TEST)


if __name__ == "__main__":
    main()

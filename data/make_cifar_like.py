"""Make the course's stand-in for CIFAR-10: a small, learnable image set in
exactly the archive format of ``cifar-10-python.tar.gz``.

    python data/make_cifar_like.py [--seed 2026] [--out data/05_cnn]

The real archive cannot be downloaded here (and is 163 MB), so assignment
05 ships this one under the name Keras's cache gives the real one
(``cifar-10-batches-py-target_archive`` in ``~/.keras/datasets``): a gzipped
tar holding ``cifar-10-batches-py/`` with ``data_batch_1`` ... ``data_batch_5``,
``test_batch`` and ``batches.meta``, each a pickled dict with bytes keys
(``b"data"``: uint8 rows of 3072 values, the red, green and blue 32x32
planes; ``b"labels"``; ``b"filenames"``; ``b"batch_label"``), as on the
CIFAR site. Ten classes: five textures (plain, striped, barred, checked,
dotted) in a warm or a cool colour, filling a disc or a square of random
place and size, on a random dark background with grey noise.

The bytes depend only on the seed (and numpy's pickle format): members are
written in a fixed order with fixed owners, modes and times, and the gzip
header carries no name and time 0, so a re-run gives an identical file.
"""

from __future__ import annotations

import argparse
import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

ARCHIVE = "cifar-10-batches-py-target_archive"
"""the real archive's file name in Keras's cache (``keras.utils.get_file``)"""
TRAIN_BATCHES, PER_BATCH, N_TEST = 5, 400, 500
TEXTURES = ("plain", "striped", "barred", "checked", "dotted")
COLOURS = ("warm", "cool")
LABEL_NAMES = [f"{colour} {texture}" for colour in COLOURS for texture in TEXTURES]
SIZE = 32


def _texture(texture: str, period: int, phase: int) -> np.ndarray:
    """Where a texture shows its colour (True) or a darker shade (False). Every
    texture looks the same mirrored left to right, as a random flip leaves labels."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    on_y, on_x = (y + phase) % period < period / 2, (x + phase) % period < period / 2
    if texture == "plain":
        return np.ones((SIZE, SIZE), bool)
    if texture == "striped":
        return on_y
    if texture == "barred":
        return on_x
    if texture == "checked":
        return on_y ^ on_x
    return ~(on_y & on_x)


def _image(label: int, rng: np.random.Generator) -> np.ndarray:
    """One (32, 32, 3) uint8 image of class ``label``: a disc or a square filled with
    the class's texture in one of its colour family's tints, on a dark background."""
    texture, colour = TEXTURES[label % len(TEXTURES)], COLOURS[label // len(TEXTURES)]
    image = np.empty((SIZE, SIZE, 3), np.float32)
    image[:] = rng.integers(10, 90, size=3)
    warm = [(230, 60, 40), (240, 170, 30), (220, 80, 160)]
    cool = [(40, 90, 230), (40, 200, 180), (120, 70, 230)]
    tint = np.array((warm if colour == "warm" else cool)[rng.integers(0, 3)], np.float32)
    r = rng.uniform(8.0, 13.0)
    cy, cx = rng.uniform(r, SIZE - r, size=2)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    if rng.integers(0, 2):
        inside = (y - cy) ** 2 + (x - cx) ** 2 <= r**2
    else:
        inside = (np.abs(y - cy) <= 0.8 * r) & (np.abs(x - cx) <= 0.8 * r)
    pattern = _texture(texture, int(rng.integers(4, 7)), int(rng.integers(0, 6)))
    image[inside & pattern] = tint
    image[inside & ~pattern] = 0.35 * tint
    # grey noise on 2x2 blocks: enough to keep a model from memorising pixels, cheap to store
    noise = rng.choice(np.array([-10, 10], np.float32), size=(SIZE // 2, SIZE // 2, 1))
    noise = noise.repeat(2, axis=0).repeat(2, axis=1)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _batch(labels: np.ndarray, rng: np.random.Generator, name: str, first: int) -> bytes:
    """One pickled batch file, in CIFAR's layout (rows of R, G, B planes)."""
    images = np.stack([_image(int(label), rng) for label in labels])
    rows = images.transpose(0, 3, 1, 2).reshape(len(labels), 3 * SIZE * SIZE)
    batch = {
        b"batch_label": name.encode(),
        b"labels": [int(label) for label in labels],
        b"data": np.ascontiguousarray(rows),
        b"filenames": [f"shape_{first + i:05d}.png".encode() for i in range(len(labels))],
    }
    return pickle.dumps(batch, protocol=3)


def members(seed: int) -> list[tuple[str, bytes]]:
    """The archive's files, in order: (path inside the tar, bytes)."""
    rng = np.random.default_rng(seed)
    folder = "cifar-10-batches-py"
    meta = {
        b"num_cases_per_batch": PER_BATCH,
        b"label_names": [name.encode() for name in LABEL_NAMES],
        b"num_vis": SIZE * SIZE * 3,
    }
    files = [(f"{folder}/batches.meta", pickle.dumps(meta, protocol=3))]
    for index in range(1, TRAIN_BATCHES + 1):
        labels = rng.permutation(np.arange(PER_BATCH) % len(LABEL_NAMES))
        name = f"training batch {index} of {TRAIN_BATCHES}"
        files.append((f"{folder}/data_batch_{index}", _batch(labels, rng, name, index * PER_BATCH)))
    labels = rng.permutation(np.arange(N_TEST) % len(LABEL_NAMES))
    files.append((f"{folder}/test_batch", _batch(labels, rng, "testing batch 1 of 1", 0)))
    readme = "A generated stand-in for CIFAR-10 (see data/make_cifar_like.py in tfgrade).\n"
    files.append((f"{folder}/readme.html", readme.encode()))
    return sorted(files)


def archive(seed: int) -> bytes:
    """The gzipped tar, byte for byte the same for the same seed."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for path, data in members(seed):
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as out:
        out.write(raw.getvalue())
    return packed.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "05_cnn")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    target = options.out / ARCHIVE
    target.write_bytes(archive(options.seed))
    print(f"{target}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

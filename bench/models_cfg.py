"""The ResNet20, DenseNet121 and NeuMF training configs that bench/models.py (CPU) and bench/gpu.py (CUDA)
time in xrisk."""

RESNET_CFG = """[data]
format = "embedded-fashion-mnist"
positive_class = 6
imratio = 0.1
test_fraction = 0.1
[model]
kind = "resnet20"
input_shape = [1, 28, 28]
[loss]
kind = "aucm"
[optimizer]
kind = "pesg"
lr = 0.1
[sampler]
batch_size = 64
sampling_rate = 0.2
[train]
epochs = 2
"""

DENSENET_CFG = """[data]
format = "idx"
train = "{images}"
train_labels = "{labels}"
positive_class = 6
test_fraction = 0.1
[model]
kind = "densenet121"
input_shape = [3, 224, 224]
[loss]
kind = "aucm"
[optimizer]
kind = "pesg"
lr = 0.1
[sampler]
batch_size = 16
sampling_rate = 0.2
[train]
epochs = 2
"""

NEUMF_CFG = """[data]
format = "movielens"
train = "{inter}"
eval_negatives = 100
[model]
kind = "neumf"
emb_size = 64
layers = [64]
[loss]
kind = "ndcg"
gamma0 = 0.1
[optimizer]
kind = "song"
mode = "adam"
lr = 1e-3
weight_decay = 1e-7
[sampler]
batch_size = 64
num_pos = 10
num_neg = 100
[train]
lr_schedule = "constant"
epochs = 2
"""


DENSE_IMAGES = 320


def write_densenet_idx(data_dir, out_dir):
    """The DenseNet121 data: the first DENSE_IMAGES embedded Fashion-MNIST test images (from
    `data_dir`'s t10k-*-ubyte.gz) at 224 × 224 in 3 channels (each pixel repeated 8 × 8, the
    plane 3 times), as IDX files (images `[n, 3, 224, 224]`, labels `[n]`) in `out_dir`;
    returns their paths. Plain Python, so that scripts without numpy can call it."""
    import gzip
    import os
    raw = gzip.open(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).read()[16:]
    labels = gzip.open(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).read()[8:8 + DENSE_IMAGES]
    paths = os.path.join(out_dir, "dense.images"), os.path.join(out_dir, "dense.labels")
    with open(paths[0], "wb") as fh:
        fh.write(bytes([0, 0, 8, 4]) + b"".join(d.to_bytes(4, "big") for d in (DENSE_IMAGES, 3, 224, 224)))
        for i in range(DENSE_IMAGES):
            img = raw[i * 784:(i + 1) * 784]
            rows = (bytes(v for v in img[r * 28:(r + 1) * 28] for _ in range(8)) for r in range(28))
            plane = b"".join(row * 8 for row in rows)
            fh.write(plane * 3)
    with open(paths[1], "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + len(labels).to_bytes(4, "big") + labels)
    return paths

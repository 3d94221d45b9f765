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
epochs = 2
"""

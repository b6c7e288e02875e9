"""Fashion-MNIST CNN in PyTorch, run by `cdl train` as a bring-your-own trainer (train.command).

cdl passes everything through CDL_* environment variables and collects what this script writes to
$CDL_OUTPUT_DIR: model.onnx (NHWC input [N, 28, 28, 1] in [0, 1], softmax output) and metrics.json.
Other files written there (history.json) are kept in the model directory.

Under `train.launcher: torchrun` (cdl.ddp.yaml) it runs once per process: DistributedDataParallel
over NCCL on GPUs or gloo on the CPU, each rank a share of every batch, rank 0 writing the model
directory and every rank its own figures to $CDL_RANK_METRICS. With $CDL_CHECKPOINT_DIR set it
saves a checkpoint after each epoch, and resumes from it when cdl says so ($CDL_RESUME=1).
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"train.py: ${name} is not set; run this script through `cdl train` (train.command)")
    return value


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"train.py: {path}: expected an IDX file of unsigned bytes")
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(spec, scale, limit):
    files = json.loads(spec)
    x = read_idx(files["images"]).astype(np.float32) / scale
    y = read_idx(files["labels"]).astype(np.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)  # NCHW


class Cnn(nn.Module):
    """The example's convolutional model (examples/fashion-mnist/cdl.cnn.yaml). Outputs logits."""

    def __init__(self, classes, dropout):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, classes),
        )

    def forward(self, x):
        return self.head(self.features(x))


class Exported(nn.Module):
    """What model.onnx holds: NHWC in (like cdl's own models), probabilities out."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x.permute(0, 3, 1, 2)), dim=1)


@torch.no_grad()
def evaluate(net, x, y, device, batch=1000):
    net.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch].to(device), y[i : i + batch].to(device)
        logits = net(xb)
        loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    return {"accuracy": correct / len(x), "loss": loss / len(x), "examples": len(x)}


CHECKPOINT = "checkpoint.pt"


def load_checkpoint(directory, config_hash):
    """The checkpoint of an interrupted run of the same configuration, or None."""
    path = os.path.join(directory, CHECKPOINT) if directory else None
    if not path or not os.path.exists(path) or os.environ.get("CDL_RESUME") != "1":
        return None
    state = torch.load(path, map_location="cpu")
    if state.get("config_hash") != config_hash:
        sys.exit(f"train.py: {path}: made with another configuration; train without resume to start over")
    return state


def save_checkpoint(directory, state):
    """Write then rename, so a run killed while saving leaves the previous checkpoint whole."""
    tmp = os.path.join(directory, CHECKPOINT + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, os.path.join(directory, CHECKPOINT))


def main():
    out_dir = env("CDL_OUTPUT_DIR")
    if env("CDL_DATA_FORMAT") != "idx":
        sys.exit("train.py: expected data.format idx (the Fashion-MNIST IDX files)")
    hp = json.loads(env("CDL_HYPERPARAMETERS", "{}"))
    epochs = int(env("CDL_EPOCHS"))
    batch_size = int(env("CDL_BATCH_SIZE"))
    learning_rate = float(env("CDL_LEARNING_RATE"))
    seed = int(env("CDL_SEED"))
    scale = float(env("CDL_DATA_SCALE", "255"))
    classes = len(json.loads(env("CDL_DATA_CLASSES", "[]"))) or 10
    val_fraction = float(env("CDL_VALIDATION_FRACTION", "0.1"))

    # torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without it this is one process of one.
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    lead = rank == 0

    torch.manual_seed(seed)
    x, y = load_split(env("CDL_DATA_TRAIN"), scale, int(hp.get("max_train_examples", 0)))
    x_test, y_test = load_split(env("CDL_DATA_TEST"), scale, int(hp.get("max_test_examples", 0)))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(env("CDL_VALIDATION_SEED", "42"))))
    n_val = int(len(x) * val_fraction)
    x_val, y_val = x[order[:n_val]], y[order[:n_val]]
    x_train, y_train = x[order[n_val:]], y[order[n_val:]]
    if lead:
        print(f"device {device}; {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test examples"
              + (f"; {world} processes" if world > 1 else ""), flush=True)

    base = Cnn(classes, float(hp.get("dropout", 0.3))).to(device)
    net = nn.parallel.DistributedDataParallel(base) if world > 1 else base
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    history = []
    start = 0
    checkpoint_dir = os.environ.get("CDL_CHECKPOINT_DIR", "")
    state = load_checkpoint(checkpoint_dir, os.environ.get("CDL_CONFIG_HASH", ""))
    if state:
        base.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        history, start = state["history"], state["epoch"]
        if lead:
            print(f"resumed from the checkpoint of epoch {start}", flush=True)
    t0 = time.time()
    local_seen = 0
    for epoch in range(start, epochs):
        net.train()
        # The order of each epoch depends on the seed and the epoch only, so a resumed run and an
        # uninterrupted one see the same batches; every rank computes the same order.
        perm = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        total, seen = torch.zeros(2), 0
        for i in range(0, len(x_train), batch_size):
            batch = perm[i : i + batch_size]
            if len(batch) < world:
                break  # too few examples left for every rank to take a share
            idx = batch[rank::world]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            total += torch.tensor([loss.item() * len(idx), len(idx)])
            local_seen += len(idx)
        if world > 1:
            dist.all_reduce(total)
        record = {"epoch": epoch + 1, "loss": (total[0] / total[1]).item()}
        if n_val:
            val = evaluate(base, x_val, y_val, device)
            record.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        history.append(record)
        if lead:
            print(json.dumps(record), flush=True)
            if checkpoint_dir:
                save_checkpoint(checkpoint_dir, {
                    "epoch": epoch + 1, "model": base.state_dict(), "optimizer": opt.state_dict(),
                    "rng": torch.get_rng_state(), "history": history,
                    "config_hash": os.environ.get("CDL_CONFIG_HASH", ""),
                })
        if world > 1:
            dist.barrier()  # no rank runs ahead of the checkpoint
    seconds = time.time() - t0
    net = base

    if os.environ.get("CDL_RANK_METRICS"):
        with open(os.environ["CDL_RANK_METRICS"], "w") as f:
            json.dump({"rank": rank, "world_size": world, "device": str(device), "examples_trained": local_seen,
                       "seconds": seconds}, f)
    if not lead:
        dist.barrier()
        dist.destroy_process_group()
        return

    metrics = {
        "train": evaluate(net, x_train, y_train, device),
        "test": evaluate(net, x_test, y_test, device),
        "device": device.type,
        "framework": f"pytorch {torch.__version__}",
        "world_size": world,
        "seconds": seconds,
    }
    if n_val:
        metrics["validation"] = evaluate(net, x_val, y_val, device)

    exported = Exported(net.to("cpu").eval()).eval()
    torch.onnx.export(
        exported,
        torch.zeros(1, 28, 28, 1),
        os.path.join(out_dir, "model.onnx"),
        opset_version=13,
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
    )
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(history, f, indent=2)
    print(f"test accuracy {metrics['test']['accuracy']:.4f} on {device.type}", flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

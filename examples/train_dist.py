"""Data-parallel training on several processes (MXNet's ``kvstore='dist_sync'``) with MPI.

    python -m gluonlite.launch -n 2 examples/train_dist.py [--epochs 1] [--batch-size 128]
    mpiexec -n 2 python examples/train_dist.py                 # the same, by hand
    python -m gluonlite.launch -n 4 --hostfile hosts examples/train_dist.py   # machines

Every process runs this script: ``mx.kv.create('dist_sync')`` connects them, the Trainer
broadcasts rank 0's initial weights and sums the gradients of all workers at every step
(so ``step`` gets the global batch size), each worker reads its own part of Fashion-MNIST
(``SplitSampler``), the metrics are summed over workers, and only rank 0 prints and saves
the checkpoint. Needs ``pip install 'gluonlite[dist]'``.
"""
import argparse
import os
import time

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.gluon import nn
from gluonlite.gluon.data.vision import transforms


def mlp():
    net = nn.HybridSequential()
    net.add(nn.Dense(256, activation="relu", in_units=784),
            nn.Dense(128, activation="relu", in_units=256), nn.Dense(10, in_units=128))
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128, help="per worker")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--train-samples", type=int, default=None,
                    help="use only the first N training images (a quick run)")
    ap.add_argument("--save", default="train_dist.params",
                    help="checkpoint written by rank 0")
    args = ap.parse_args()

    kv = mx.kv.create("dist_sync")
    rank, workers = kv.rank, kv.num_workers
    mx.random.seed(rank)  # different shuffles per worker; the weights come from rank 0

    flat = transforms.ToTensor()  # the first Dense flattens (1, 28, 28) to 784
    try:
        train_set = gluon.data.vision.FashionMNIST(train=True).transform_first(flat)
        test_set = gluon.data.vision.FashionMNIST(train=False).transform_first(flat)
    except Exception as e:  # noqa: BLE001 (say what is missing, then stop)
        raise SystemExit(f"Fashion-MNIST is not available ({e}); install Debian's "
                         "dataset-fashion-mnist or put the files in ~/.mxnet/datasets") from e
    if args.train_samples:
        train_set = train_set.take(args.train_samples)
    # every worker the same number of samples, hence of steps (sync training needs it)
    sampler = gluon.data.SplitSampler(len(train_set), workers, rank)
    train_iter = gluon.data.DataLoader(train_set, args.batch_size, sampler=sampler,
                                       last_batch="discard")
    test_iter = gluon.data.DataLoader(test_set.shard(workers, rank), 1000)

    net = mlp()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": args.lr, "momentum": 0.9}, kvstore=kv)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if rank == 0:
        print(f"{workers} workers, {len(sampler)} training images each, batch "
              f"{args.batch_size} per worker ({args.batch_size * workers} in all)")
    for epoch in range(args.epochs):
        metric = mx.metric.create(["acc", "ce"])
        tic = time.time()
        for data, label in train_iter:
            with autograd.record():
                out = net(data)
                loss = loss_fn(out, label)
            loss.backward()
            trainer.step(data.shape[0] * workers)  # gradients are summed over workers
            metric.update([label], [nd.softmax(out)])
        train = mx.metric.reduce_across_workers(metric, kv).get()
        test = mx.metric.Accuracy()
        for data, label in test_iter:
            test.update([label], [net(data)])
        test_acc = mx.metric.reduce_across_workers(test, kv).get()[1]
        if rank == 0:
            print(f"epoch {epoch}: train acc {train[1][0]:.4f}, train loss "
                  f"{train[1][1]:.4f}, test acc {test_acc:.4f}, "
                  f"{len(sampler) * workers / (time.time() - tic):.0f} images/s")
    if rank == 0:
        net.save_parameters(args.save)
        print(f"rank 0 saved {os.path.abspath(args.save)}")
    kv.barrier()


if __name__ == "__main__":
    main()

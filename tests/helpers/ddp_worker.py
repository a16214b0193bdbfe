"""Run by tests/test_distributed.py under torchrun: train a tiny model data-parallel and dump this rank's weights."""

import sys

import torch
import torch.distributed as tdist
from safetensors.torch import save_file

from explorer.gan import distributed
from explorer.gan.train import train_loop
from tests.factories import make_dataset, tiny_config

out = sys.argv[1]
distributed.init(torch.device("cpu"))
rank = tdist.get_rank()
res = train_loop(tiny_config(steps=3, augment_p=0.5, ada_target=0.6), make_dataset(n=64), run_dir=f"{out}/run")
weights = {f"{name}.{k}": v.detach().contiguous() for name in ("G", "G_ema", "D")
           for k, v in getattr(res.nets, name).state_dict().items()}
save_file(weights, f"{out}/rank{rank}.safetensors")
distributed.shutdown()

"""Sample pipeline: train a tiny model, then deploy it to a TorchServe stack.

    train_tiny_model  ->  deploy_torchserve (torchserve_deploy.py)

The training step is a lightweight component that learns a Linear(4 -> 2) and
writes the model directory the deploy step expects: model.pt (TorchScript),
labels.json (read by the handler) and handler.py. The handler's source travels
in the compiled pipeline as a constant input (read from sample_handler.py at
compile time), so the handler is versioned with the pipeline. A real pipeline's
training image would ship its handler instead.

Compile: python pipelines/kubeflow/compile.py (see pipelines/kubeflow/README.md).
"""
from pathlib import Path

from kfp import dsl
from kfp.dsl import Model, Output

from torchserve_deploy import deploy_torchserve, make_deploy_component

#: The training image: TorchServe's own CPU image, so the TorchScript file is
#: written by the torch version the serving pods load it with (2.4.0+cpu).
TRAIN_IMAGE = "pytorch/torchserve:0.12.0-cpu"

HANDLER_SOURCE = (Path(__file__).resolve().parent / "sample_handler.py").read_text()

#: The model directory's layout (must match what train_tiny_model writes).
deploy_sample = make_deploy_component(
    serialized_file="model.pt", handler="handler.py", extra_files=["labels.json"])


@dsl.component(base_image=TRAIN_IMAGE)
def train_tiny_model(handler_source: str, model: Output[Model], steps: int = 500, seed: int = 0):
    """Learns y = [a + 2b + 3c + 4d + 1, a - b + c - d] and writes the model directory."""
    import json
    import os

    import torch

    torch.manual_seed(seed)
    true_w = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 1.0, -1.0]])
    true_b = torch.tensor([1.0, 0.0])
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(steps):
        x = torch.randn(64, 4)
        loss = torch.nn.functional.mse_loss(net(x), x @ true_w.T + true_b)
        opt.zero_grad()
        loss.backward()
        opt.step()

    os.makedirs(model.path, exist_ok=True)
    torch.jit.script(net.eval()).save(os.path.join(model.path, "model.pt"))
    with open(os.path.join(model.path, "labels.json"), "w") as f:
        json.dump({"0": "sum", "1": "alt"}, f)
    with open(os.path.join(model.path, "handler.py"), "w") as f:
        f.write(handler_source)
    model.metadata["framework"] = "torchscript"
    model.metadata["final_mse"] = float(loss)


@dsl.pipeline(
    name="train-and-deploy-torchserve",
    description="Train a tiny TorchScript model and roll it out to a TorchServe stack.")
def train_and_deploy(
    stack: str,
    deployer_image: str,
    model_store_claim: str = "torchserve-model-store",
    state_secret: str = "torchserve-deployer",
    steps: int = 500,
):
    trained = train_tiny_model(handler_source=HANDLER_SOURCE, steps=steps)
    trained.set_display_name("train")
    deploy_torchserve(
        stack=stack,
        model=trained.outputs["model"],
        image=deployer_image,
        model_store_claim=model_store_claim,
        state_secret=state_secret,
        component=deploy_sample,
    )

"""Compile the sample pipeline and the deploy component to KFP v2 YAML.

    python pipelines/kubeflow/compile.py [--out-dir DIR]

Writes DIR/train_and_deploy.yaml (upload it to Kubeflow Pipelines) and
DIR/deploy_component.yaml (the deploy component alone, default layout: model.pt
+ handler.py; load it with kfp.components.load_component_from_file). DIR
defaults to pipelines/kubeflow/build/. Prints the written paths as JSON.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kfp import compiler  # noqa: E402

from sample_pipeline import train_and_deploy  # noqa: E402
from torchserve_deploy import deploy_component  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.path.join(HERE, "build"))
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    written = {
        "pipeline": os.path.join(args.out_dir, "train_and_deploy.yaml"),
        "component": os.path.join(args.out_dir, "deploy_component.yaml"),
    }
    compiler.Compiler().compile(train_and_deploy, written["pipeline"])
    compiler.Compiler().compile(deploy_component, written["component"])
    print(json.dumps(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())

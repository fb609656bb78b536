"""TorchServe handler of the sample pipeline's model (sample_pipeline.py).

Request: {"data": [a, b, c, d]} or [a, b, c, d]. Response: {"sum": y0, "alt": y1,
"version": <the archive's version>}, the names read from labels.json, which the
training step writes next to model.pt.
"""
import json
import os

import torch
from ts.torch_handler.base_handler import BaseHandler


class SampleHandler(BaseHandler):
    def initialize(self, context):
        super().initialize(context)  # loads model.pt (TorchScript)
        model_dir = context.system_properties.get("model_dir")
        with open(os.path.join(model_dir, "labels.json")) as f:
            mapping = json.load(f)
        self.labels = [mapping[str(i)] for i in range(len(mapping))]
        self.version = (context.manifest or {}).get("model", {}).get("modelVersion")

    def preprocess(self, data):
        rows = []
        for request in data:
            body = request.get("data", request.get("body"))
            if isinstance(body, (bytes, bytearray)):
                body = body.decode("utf-8")
            if isinstance(body, str):
                body = json.loads(body)
            if isinstance(body, dict):
                body = body.get("data")
            rows.append([float(v) for v in body])
        return torch.tensor(rows, dtype=torch.float32)

    def inference(self, data, *args, **kwargs):
        with torch.no_grad():
            return self.model(data)

    def postprocess(self, data):
        return [dict(zip(self.labels, row), version=self.version) for row in data.tolist()]

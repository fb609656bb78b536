"""The TorchServe deploy step for Kubeflow Pipelines v2.

A container component that runs the project's deploy entry point
(`node /app/bin/deploy/main.js`, see pipelines/kubeflow/README.md) in the
deployer image (deployer/Dockerfile), plus `deploy_torchserve`, which adds it
to a pipeline with what the step needs from Kubernetes: the model-store claim
mounted where `--model-store-path` points, the Pulumi state backend and
passphrase from a Secret, the image's non-root user, and no caching.

Why the model is one directory artifact and not one artifact per file: KFP
names an artifact's local file after the output that produced it (`model`,
`labels`: no extension), while the names inside a model archive matter.
TorchServe's BaseHandler loads TorchScript only from a file ending in `.pt`,
imports the handler by its `.py` module name, and handlers open their extra
files by name. So the training step writes every file under its real name into
one `Output[Model]` directory, and this component points each flag at
`<model.path>/<name>`. The names are fixed when the component is made
(`make_deploy_component`), because they belong to the handler code, not to a
run.
"""
from typing import Mapping, Optional, Sequence

from kfp import dsl, kubernetes
from kfp.dsl import Input, Model, OutputPath

#: The deploy entry point inside the deployer image (WORKDIR /app).
DEPLOY_COMMAND = ["node", "/app/bin/deploy/main.js"]

#: Where the step mounts the model-store claim; passed as --model-store-path.
MODEL_STORE_MOUNT = "/mnt/model-store"

#: The deployer image's user (deployer/Dockerfile: USER 1000:1000), also TorchServe's
#: model-server uid: archives the step writes belong to the user that serves them.
DEPLOYER_UID = 1000

#: Secret keys -> environment of the step: a self-managed state backend
#: (`s3://`, `gs://`, `azblob://`, `file://` URL) and the passphrase that
#: encrypts the stack's secrets. For Pulumi Cloud pass
#: {"access-token": "PULUMI_ACCESS_TOKEN"} instead. Object-store credentials
#: (AWS_ACCESS_KEY_ID, ...) can be added to the same Secret and map.
STATE_SECRET_ENV: Mapping[str, str] = {
    "backend-url": "PULUMI_BACKEND_URL",
    "config-passphrase": "PULUMI_CONFIG_PASSPHRASE",
}


def _plain_name(kind: str, name: str) -> str:
    if not name or "/" in name or name in (".", "..") or "," in name:
        raise ValueError(
            f"{kind} {name!r} must be a plain file name inside the model directory "
            "(no '/', no ',')")
    return name


def make_deploy_component(
    serialized_file: str = "model.pt",
    handler: str = "handler.py",
    extra_files: Sequence[str] = (),
    requirements_file: Optional[str] = None,
    model_store_path: str = MODEL_STORE_MOUNT,
):
    """Makes the deploy container component for one layout of the model directory.

    Args:
        serialized_file: file name of the serialized model in the model directory
            (`--serialized-file`); TorchScript must end in `.pt`.
        handler: a `.py` file name in the model directory, or the name of a
            TorchServe built-in handler such as `image_classifier` (`--handler`).
        extra_files: file names in the model directory packed into the archive,
            one `--extra-file` each, in this order.
        requirements_file: file name of a requirements file in the model
            directory (`--requirements-file`), or None.
        model_store_path: where the step sees the model store
            (`--model-store-path`); `deploy_torchserve` mounts the claim there.

    Returns:
        A KFP container component `deploy_torchserve(stack, model, image,
        model_version=None) -> summary` (summary: the deploy's JSON summary as
        a dict output parameter).
    """
    serialized_file = _plain_name("serialized_file", serialized_file)
    handler_is_file = handler.endswith(".py")
    if handler_is_file:
        handler = _plain_name("handler", handler)
    elif not handler or "/" in handler:
        raise ValueError(f"handler {handler!r} must be a .py file name or a built-in handler name")
    extra_files = [_plain_name("extra file", name) for name in extra_files]
    if requirements_file is not None:
        requirements_file = _plain_name("requirements_file", requirements_file)
    if not model_store_path.startswith("/"):
        raise ValueError(f"model_store_path {model_store_path!r} must be absolute")

    @dsl.container_component
    def deploy_torchserve(
        stack: str,
        model: Input[Model],
        image: str,
        summary: OutputPath(dict),
        model_version: Optional[str] = None,
    ):
        """Archives the model into the stack's model store and rolls TorchServe out.

        Args:
            stack: the Pulumi stack (= Kubernetes namespace) to deploy, e.g. prod.
            model: directory holding the serialized model, the handler and extra files.
            image: the deployer image (deployer/Dockerfile), e.g. registry/torchserve-deployer:0.1.0.
            model_version: a Kubernetes label value; omitted = a content hash of the files.

        Returns:
            summary: the deploy command's JSON summary (stack, modelVersion,
            previousModelVersion, predictionUrl, rolloutSeconds, ...).
        """
        def in_model(name: str) -> str:
            return f"{model.path}/{name}"

        args = [
            "--stack", stack,
            "--serialized-file", in_model(serialized_file),
            "--handler", in_model(handler) if handler_is_file else handler,
        ]
        for name in extra_files:
            args += ["--extra-file", in_model(name)]
        if requirements_file is not None:
            args += ["--requirements-file", in_model(requirements_file)]
        args += [
            dsl.IfPresentPlaceholder(
                input_name="model_version", then=["--model-version", model_version]),
            "--model-store-path", model_store_path,
            "--summary-file", summary,
        ]
        # The image is a run-time input: KFP's driver resolves the placeholder.
        return dsl.ContainerSpec(image=f"{image}", command=list(DEPLOY_COMMAND), args=args)

    # The mount path deploy_torchserve must use for this component.
    deploy_torchserve.model_store_path = model_store_path
    return deploy_torchserve


#: The component for the common layout: model.pt + handler.py, no extra files.
deploy_component = make_deploy_component()


def deploy_torchserve(
    stack,
    model,
    image,
    model_store_claim,
    state_secret,
    model_version=None,
    component=deploy_component,
    secret_env: Mapping[str, str] = STATE_SECRET_ENV,
) -> dsl.PipelineTask:
    """Adds the deploy step to the pipeline being defined.

    Args:
        stack, model, image, model_version: the component's inputs (values or
            pipeline channels); model_version None leaves the flag out.
        model_store_claim: the PersistentVolumeClaim holding the model store,
            in the namespace the pipeline runs in (README.md here: "One store, two namespaces").
        state_secret: the Secret holding the keys of `secret_env`.
        component: a component from make_deploy_component (its layout and mount path).
        secret_env: Secret key -> environment variable.
    """
    inputs = dict(stack=stack, model=model, image=image)
    if model_version is not None:
        inputs["model_version"] = model_version
    task = component(**inputs)
    task.set_display_name("deploy to TorchServe")
    # A deploy is never "the same as last time": another run may have switched
    # the stack to another version since, so a cached result would lie.
    task.set_caching_options(False)
    kubernetes.set_security_context(task, run_as_user=DEPLOYER_UID, run_as_group=DEPLOYER_UID, run_as_non_root=True)
    kubernetes.mount_pvc(task, pvc_name=model_store_claim, mount_path=component.model_store_path)
    kubernetes.use_secret_as_env(task, secret_name=state_secret, secret_key_to_env=dict(secret_env))
    return task

/**
 * pipelines/kubeflow/: compiled with the real KFP SDK (kfp 2.17, kfp-kubernetes,
 * from the venv of scripts/kfp-env.sh); the assertions read the compiled
 * pipeline spec and its Kubernetes platform spec, as the KFP backend would.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { tempDir } from "../support/tempDir";
import { DEPLOY_ENTRY, parseDeployArgs } from "./support/deployContract";
import { execForm, parseDockerfile } from "./support/dockerfile";
import { kfpVenv, readRepoFile, repoFile, requirementPin } from "./support/repo";

const MODEL_PATH = "{{$.inputs.artifacts['model'].path}}";
const param = (name: string) => `{{$.inputs.parameters['${name}']}}`;

interface Compiled {
    spec: any;
    platform: any;
}

function loadCompiled(file: string): Compiled {
    const docs = parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS());
    return { spec: docs[0], platform: docs[1]?.platforms?.kubernetes };
}

/** A container's args with IfPresent placeholders expanded as if every optional input were given. */
function expandArgs(args: string[]): string[] {
    return args.flatMap((a) => {
        if (!a.startsWith('{"IfPresent"')) return [a];
        return JSON.parse(a).IfPresent.Then as string[];
    });
}

function python(venv: string, code: string): string {
    return execFileSync(path.join(venv, "bin", "python"), ["-c", code], {
        cwd: repoFile("pipelines", "kubeflow"),
        encoding: "utf8",
    });
}

describe("Kubeflow Pipelines component and sample pipeline", () => {
    let venv: string;
    let pipeline: Compiled;
    let component: Compiled;

    before(() => {
        venv = kfpVenv();
        const out = tempDir("kfp-compile-");
        const printed = execFileSync(
            path.join(venv, "bin", "python"),
            [repoFile("pipelines", "kubeflow", "compile.py"), "--out-dir", out],
            { encoding: "utf8" },
        );
        const written = JSON.parse(printed.trim().split("\n").pop()!);
        pipeline = loadCompiled(written.pipeline);
        component = loadCompiled(written.component);
    });

    it("is compiled by the pinned kfp", () => {
        assert.equal(pipeline.spec.sdkVersion, `kfp-${requirementPin("pipelines/kubeflow/requirements.txt", "kfp")}`);
        assert.equal(pipeline.spec.schemaVersion, "2.1.0");
        assert.equal(pipeline.spec.pipelineInfo.name, "train-and-deploy-torchserve");
    });

    it("runs the deploy entry point in the image given as an input, the same command as the deployer image's entrypoint", () => {
        const container = pipeline.spec.deploymentSpec.executors["exec-deploy-torchserve"].container;
        assert.equal(container.image, param("image"), "image is resolved from the component input at run time");
        assert.deepEqual(container.command, ["node", `/app/${DEPLOY_ENTRY}`]);
        const entrypoint = parseDockerfile(readRepoFile("deployer", "Dockerfile")).stages.at(-1)!.instructions.at(-1)!;
        assert.deepEqual(container.command, execForm(entrypoint.args));
    });

    it("wires every deploy flag to its input, each file inside the model directory under its real name", () => {
        const args: string[] = pipeline.spec.deploymentSpec.executors["exec-deploy-torchserve"].container.args;
        const flags = parseDeployArgs(expandArgs(args)); // also: only flags the deploy command has
        assert.deepEqual(Object.fromEntries(flags), {
            "--stack": [param("stack")],
            "--serialized-file": [`${MODEL_PATH}/model.pt`],
            "--handler": [`${MODEL_PATH}/handler.py`],
            "--extra-file": [`${MODEL_PATH}/labels.json`],
            "--model-version": [param("model_version")],
            "--model-store-path": ["/mnt/model-store"],
            "--summary-file": ["{{$.outputs.parameters['summary'].output_file}}"],
        });
        // --model-version only when the input is given (omitted = a content hash of the files).
        const optional = args.filter((a) => a.startsWith('{"IfPresent"'));
        assert.deepEqual(
            optional.map((a) => JSON.parse(a)),
            [{ IfPresent: { InputName: "model_version", Then: ["--model-version", param("model_version")] } }],
        );
    });

    it("declares the component's inputs and outputs with their types", () => {
        const comp = pipeline.spec.components["comp-deploy-torchserve"];
        assert.deepEqual(comp.inputDefinitions.artifacts.model.artifactType, {
            schemaTitle: "system.Model",
            schemaVersion: "0.0.1",
        });
        assert.equal(comp.inputDefinitions.artifacts.model.isOptional, undefined);
        const params = comp.inputDefinitions.parameters;
        assert.deepEqual(Object.keys(params).sort(), ["image", "model_version", "stack"]);
        assert.equal(params.stack.parameterType, "STRING");
        assert.equal(params.stack.isOptional, undefined);
        assert.equal(params.image.parameterType, "STRING");
        assert.equal(params.image.isOptional, undefined);
        assert.equal(params.model_version.parameterType, "STRING");
        assert.equal(params.model_version.isOptional, true);
        assert.deepEqual(
            comp.outputDefinitions,
            { parameters: { summary: { parameterType: "STRUCT" } } },
            "the JSON summary is a dict output parameter",
        );
    });

    it("mounts the model-store claim at the path passed as --model-store-path", () => {
        const exec = pipeline.platform.deploymentSpec.executors["exec-deploy-torchserve"];
        assert.equal(exec.pvcMount.length, 1);
        const [mount] = exec.pvcMount;
        assert.equal(mount.mountPath, "/mnt/model-store");
        assert.deepEqual(mount.pvcNameParameter, { componentInputParameter: "model_store_claim" });
        const args: string[] = pipeline.spec.deploymentSpec.executors["exec-deploy-torchserve"].container.args;
        assert.equal(args[args.indexOf("--model-store-path") + 1], mount.mountPath);
        assert.equal(pipeline.spec.root.inputDefinitions.parameters.model_store_claim.parameterType, "STRING");
    });

    it("takes the state backend URL and passphrase from a Kubernetes Secret as env", () => {
        const exec = pipeline.platform.deploymentSpec.executors["exec-deploy-torchserve"];
        assert.equal(exec.secretAsEnv.length, 1);
        const [secret] = exec.secretAsEnv;
        assert.deepEqual(secret.secretNameParameter, { componentInputParameter: "state_secret" });
        assert.equal(secret.optional, false);
        assert.deepEqual(secret.keyToEnv, [
            { secretKey: "backend-url", envVar: "PULUMI_BACKEND_URL" },
            { secretKey: "config-passphrase", envVar: "PULUMI_CONFIG_PASSPHRASE" },
        ]);
        assert.deepEqual(
            Object.keys(pipeline.platform.deploymentSpec.executors),
            ["exec-deploy-torchserve"],
            "the training step gets no secrets or mounts",
        );
    });

    it("runs the step as the deployer image's non-root user", () => {
        const exec = pipeline.platform.deploymentSpec.executors["exec-deploy-torchserve"];
        const user = parseDockerfile(readRepoFile("deployer", "Dockerfile"))
            .stages.at(-1)!
            .instructions.find((i) => i.keyword === "USER")!.args;
        const [uid, gid] = user.split(":");
        assert.deepEqual(exec.securityContext, { runAsUser: uid, runAsGroup: gid, runAsNonRoot: true });
    });

    it("runs train, then deploy with the trained model directory, never from cache", () => {
        const tasks = pipeline.spec.root.dag.tasks;
        assert.deepEqual(Object.keys(tasks).sort(), ["deploy-torchserve", "train-tiny-model"]);
        const deploy = tasks["deploy-torchserve"];
        assert.deepEqual(deploy.dependentTasks, ["train-tiny-model"]);
        assert.deepEqual(deploy.inputs.artifacts.model, {
            taskOutputArtifact: { outputArtifactKey: "model", producerTask: "train-tiny-model" },
        });
        assert.deepEqual(deploy.inputs.parameters, {
            image: { componentInputParameter: "deployer_image" },
            stack: { componentInputParameter: "stack" },
        });
        assert.notEqual(deploy.cachingOptions?.enableCache, true, "a cached deploy would skip a real rollout");
        const root = pipeline.spec.root.inputDefinitions.parameters;
        assert.equal(root.stack.isOptional, undefined, "the stack has no default: a run must name it");
        assert.equal(
            root.deployer_image.isOptional,
            undefined,
            "the deployer image has no default: a run must name it",
        );
    });

    it("trains in TorchServe's image and writes the files the deploy step reads", () => {
        const train = pipeline.spec.deploymentSpec.executors["exec-train-tiny-model"].container;
        assert.equal(train.image, "pytorch/torchserve:0.12.0-cpu");
        const source: string = train.command.at(-1);
        for (const name of ["model.pt", "labels.json", "handler.py"]) {
            assert.ok(source.includes(`os.path.join(model.path, "${name}")`), `train_tiny_model writes ${name}`);
        }
        assert.deepEqual(
            pipeline.spec.components["comp-train-tiny-model"].outputDefinitions.artifacts.model.artifactType
                .schemaTitle,
            "system.Model",
        );
        const handler =
            pipeline.spec.root.dag.tasks["train-tiny-model"].inputs.parameters.handler_source.runtimeValue.constant;
        assert.equal(handler, readRepoFile("pipelines", "kubeflow", "sample_handler.py"));
    });

    it("compiles the component alone with the default layout (model.pt + handler.py)", () => {
        const container = component.spec.deploymentSpec.executors["exec-deploy-torchserve"].container;
        const flags = parseDeployArgs(expandArgs(container.args));
        assert.deepEqual(flags.get("--serialized-file"), [`${MODEL_PATH}/model.pt`]);
        assert.deepEqual(flags.get("--handler"), [`${MODEL_PATH}/handler.py`]);
        assert.equal(flags.has("--extra-file"), false);
        assert.equal(flags.has("--requirements-file"), false);
        assert.equal(
            component.platform,
            undefined,
            "mounts and secrets belong to the task (deploy_torchserve), not the component",
        );
    });

    it("makes components for other layouts and refuses names that are not plain file names", () => {
        const file = path.join(tempDir("kfp-layout-"), "component.yaml");
        const errors = JSON.parse(
            python(
                venv,
                `
import json, sys
from kfp import compiler
from torchserve_deploy import make_deploy_component
c = make_deploy_component(serialized_file="weights.pt", handler="image_classifier",
    extra_files=["index_to_name.json", "faiss_index.bin"], requirements_file="requirements.txt",
    model_store_path="/store")
compiler.Compiler().compile(c, ${JSON.stringify(file)})
errors = []
for kwargs in ({"extra_files": ["a/b.json"]}, {"serialized_file": "../model.pt"}, {"handler": "x/h.py"},
               {"extra_files": ["a,b"]}, {"model_store_path": "relative"}):
    try:
        make_deploy_component(**kwargs)
    except ValueError as e:
        errors.append(str(e))
print(json.dumps(errors))
`,
            ).trim(),
        );
        const args: string[] =
            loadCompiled(file).spec.deploymentSpec.executors["exec-deploy-torchserve"].container.args;
        const flags = parseDeployArgs(expandArgs(args));
        assert.deepEqual(flags.get("--serialized-file"), [`${MODEL_PATH}/weights.pt`]);
        assert.deepEqual(flags.get("--handler"), ["image_classifier"], "a built-in handler is passed by name");
        assert.deepEqual(flags.get("--extra-file"), [
            `${MODEL_PATH}/index_to_name.json`,
            `${MODEL_PATH}/faiss_index.bin`,
        ]);
        assert.deepEqual(flags.get("--requirements-file"), [`${MODEL_PATH}/requirements.txt`]);
        assert.deepEqual(flags.get("--model-store-path"), ["/store"]);
        assert.equal(errors.length, 5, `every bad name refused: ${JSON.stringify(errors)}`);
    });
});

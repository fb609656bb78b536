/**
 * A pod of the stack, run locally: the archive and rotation steps as `pulumi
 * up` runs them, then TorchServe started with the pod spec's command and
 * args, the rendered config.properties and the store mounted at the pod's
 * paths (mapped to local directories), APIs on loopback ports.
 */
import * as path from "node:path";
import { Settings, TorchServeStackArgs, resolveSettings } from "../../../components/config";
import { archiveSpec } from "../../../components/cli";
import {
    CONFIG_FILE_NAME,
    CONTAINER_CONFIG_DIR,
    CONTAINER_MODEL_STORE,
    renderConfigProperties,
} from "../../../components/torchserve";
import { listArchives, planRotation } from "../../../components/store";
import { buildPodSpec } from "../../../components/kubernetes";
import { publishArchive } from "../../../components/cli/archive";
import { rotateStore } from "../../../components/cli/rotate";
import { realFiles } from "../../support/fixtures";
import { tempDir } from "../../support/tempDir";
import { HANDLER, makeModel } from "../../e2e/support/models";
import { TorchServeProcess, freePorts } from "./server";

/** Settings of a stack serving `args.modelName` (default demo) from `store`, on free loopback ports. */
export async function localSettings(store: string, extra: Partial<TorchServeStackArgs> = {}): Promise<Settings> {
    const [inference, management, metrics, grpcInference, grpcManagement] = await freePorts(5);
    return resolveSettings(
        {
            namespace: "serve",
            modelName: "demo",
            // Any existing file passes validation; deployVersion archives a freshly made model.
            serializedFile: HANDLER,
            handler: HANDLER,
            modelStorePath: store,
            inferencePort: inference,
            managementPort: management,
            metricsPort: metrics,
            // gRPC has no Service; in a test it must stay on loopback too.
            extraProperties: {
                grpc_inference_address: "127.0.0.1",
                grpc_inference_port: String(grpcInference),
                grpc_management_address: "127.0.0.1",
                grpc_management_port: String(grpcManagement),
            },
            ...extra,
        },
        realFiles,
    );
}

/** One deploy of a freshly "trained" model (answers scaled by `scale`): archive, then rotate. */
export async function deployVersion(
    pythonEnv: string,
    settings: Settings,
    version: string,
    scale: number,
    extraFiles: readonly string[] = [],
): Promise<void> {
    const model = await makeModel(pythonEnv, tempDir(`serve-model-${version}-`), scale);
    publishArchive(
        archiveSpec(
            {
                ...settings.model,
                serializedFile: model.serializedFile,
                extraFiles: [model.labels, ...extraFiles],
                archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            },
            version,
        ),
    );
    rotateStore({
        store: settings.model.storePath,
        model: settings.model.name,
        current: version,
        keep: settings.model.keep,
    });
}

export interface LocalPod {
    readonly server: TorchServeProcess;
    readonly urls: { readonly inference: string; readonly management: string; readonly metrics: string };
    /** The startup probe's budget in seconds (period × failure threshold). */
    readonly budget: number;
    /** The readiness probe's exec command. */
    readonly ready: string[];
    /** The preStop hook's command. */
    readonly preStop: string[];
}

/** Starts TorchServe exactly as the pod of `version` would run it. */
export function startLocalPod(pythonEnv: string, settings: Settings, version: string): LocalPod {
    const store = settings.model.storePath;
    const versions = planRotation(listArchives(store, settings.model.name), version, settings.model.keep).keep;
    const configText = renderConfigProperties({
        modelName: settings.model.name,
        versions,
        server: settings.server,
        bindAddress: "127.0.0.1",
    });
    const container = (buildPodSpec({ settings, version, configMapName: "config", claimName: "claim" }) as any)
        .containers[0];
    const workdir = tempDir("serve-pod-");
    const server = new TorchServeProcess({
        command: [...container.command, ...container.args],
        files: { [`${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`]: configText },
        mounts: { [CONTAINER_CONFIG_DIR]: path.join(workdir, "config"), [CONTAINER_MODEL_STORE]: store },
        workdir,
        binDir: path.join(pythonEnv, "bin"),
    }).start();
    const p = settings.server.ports;
    return {
        server,
        urls: {
            inference: `http://127.0.0.1:${p.inference}`,
            management: `http://127.0.0.1:${p.management}`,
            metrics: `http://127.0.0.1:${p.metrics}`,
        },
        budget: container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
        ready: container.readinessProbe.exec.command,
        preStop: container.lifecycle.preStop.exec.command,
    };
}

/**
 * A pod of the stack, run locally: the archive and rotation steps as `pulumi
 * up` runs them (with the release history a stack records, kept here per
 * store part), then TorchServe started with the pod spec's command and args,
 * the rendered config.properties and the stack's part of the store mounted at
 * the pod's paths (mapped to local directories), APIs on loopback ports.
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
import { EntryKind, storeLayout } from "../../../components/store";
import { buildPodSpec } from "../../../components/kubernetes";
import { publishArchive } from "../../../components/cli/archive";
import { rotateStore } from "../../../components/cli/rotate";
import { realFiles } from "../../support/fixtures";
import { tempDir } from "../../support/tempDir";
import { HANDLER, makeModel } from "../../e2e/support/models";
import { TorchServeProcess, loopbackPortArgs } from "./server";

/** Settings of a stack serving `args.modelName` (default demo) from `store`, on free loopback ports. */
export async function localSettings(store: string, extra: Partial<TorchServeStackArgs> = {}): Promise<Settings> {
    const ports = await loopbackPortArgs();
    return resolveSettings(
        {
            namespace: "serve",
            modelName: "demo",
            // Any existing file passes validation; deployVersion archives a freshly made model.
            serializedFile: HANDLER,
            handler: HANDLER,
            modelStorePath: store,
            // The serve suite loads several versions side by side.
            archiveKeep: 3,
            servedVersions: 3,
            ...ports,
            ...extra,
        },
        realFiles,
    );
}

/** The stack's part of the store (what the pod mounts). */
export function storePart(settings: Settings): string {
    return storeLayout(settings.model.storePath!, settings.model.storeSubdir).part;
}

/**
 * Successful deploys per store part and model, newest first, each with its entry kind: what a stack
 * records in its release.
 */
const histories = new Map<string, { version: string; entry: EntryKind }[]>();

function historyOf(settings: Settings): { version: string; entry: EntryKind }[] {
    return histories.get(`${storePart(settings)}:${settings.model.name}`) ?? [];
}

/** The versions a pod of `version` loads: it, then the most recent others, `servedVersions` in all. */
export function servedVersions(settings: Settings, version: string): string[] {
    const others = historyOf(settings)
        .map((h) => h.version)
        .filter((v) => v !== version);
    return [version, ...others].slice(0, settings.model.served);
}

/** The recorded versions published as directories (config.properties names them so). */
export function directoriesOf(settings: Settings): string[] {
    return historyOf(settings)
        .filter((h) => h.entry === "dir")
        .map((h) => h.version);
}

const OWNER = { stack: "organization/torchserve-stack/serve", namespace: "serve", appName: "torchserve" };

/**
 * One deploy of a freshly "trained" model (answers scaled by `scale`): archive, then rotate, then record
 * it. A new version is published as `settings.model.archiveFormat` says (a directory or a `.mar`), as the
 * program plans it; the others keep their recorded kinds.
 */
export async function deployVersion(
    pythonEnv: string,
    settings: Settings,
    version: string,
    scale: number,
    extraFiles: readonly string[] = [],
): Promise<void> {
    const model = await makeModel(pythonEnv, tempDir(`serve-model-${version}-`), scale);
    const served = servedVersions(settings, version);
    const entry: EntryKind =
        historyOf(settings).find((h) => h.version === version)?.entry ??
        (settings.model.archiveFormat === "directory" ? "dir" : "mar");
    const history = [{ version, entry }, ...historyOf(settings).filter((h) => h.version !== version)];
    const directories = history.filter((h) => h.entry === "dir").map((h) => h.version);
    await publishArchive(
        archiveSpec(
            {
                ...settings.model,
                artifacts: {
                    serializedFile: model.serializedFile,
                    handler: settings.model.artifacts!.handler,
                    extraFiles: [model.labels, ...extraFiles],
                },
                archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            },
            OWNER,
            {
                version,
                fingerprint: `fixture-${version}-${scale}`,
                bytes: 0,
                served,
                directories: directories.filter((v) => served.includes(v)),
            },
        ),
    );
    await rotateStore({
        store: settings.model.storePath!,
        subdir: settings.model.storeSubdir,
        owner: OWNER,
        model: settings.model.name,
        keep: history.slice(0, settings.model.keep).map((h) => h.version),
    });
    histories.set(`${storePart(settings)}:${settings.model.name}`, history);
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

/**
 * Starts TorchServe exactly as the pod of `version` would run it (`served`: the versions it loads).
 * `podIp`: the address standing in for the pod's IP, where the pod's config binds inference and
 * metrics (0.0.0.0 in a pod); a loopback address, so nothing is reachable from outside this host.
 */
export function startLocalPod(
    pythonEnv: string,
    settings: Settings,
    version: string,
    served: readonly string[] = servedVersions(settings, version),
    podIp = "127.0.0.1",
): LocalPod {
    const store = storePart(settings);
    const versions = [...served];
    const configText = renderConfigProperties({
        modelName: settings.model.name,
        versions,
        directories: directoriesOf(settings).filter((v) => versions.includes(v)),
        server: settings.server,
        exposeManagement: settings.service.exposeManagement,
        bindAddress: podIp,
    });
    const container = (
        buildPodSpec({
            settings,
            version,
            served: versions,
            storeSubdir: settings.model.storeSubdir,
            config: { kind: "ConfigMap" as const, name: "config" },
            claimName: "claim",
        }) as any
    ).containers[0];
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
            inference: `http://${podIp}:${p.inference}`,
            management: `http://127.0.0.1:${p.management}`,
            metrics: `http://${podIp}:${p.metrics}`,
        },
        budget: container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
        ready: container.readinessProbe.exec.command,
        preStop: container.lifecycle.preStop.exec.command,
    };
}

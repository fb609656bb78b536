/**
 * What a pod gets really serves. The Deployment's container command and args,
 * the rendered config.properties and the model store (archived and rotated
 * by the project's own archive and rotation steps, with the real
 * torch-model-archiver) are given to the real TorchServe 0.12, with the mount
 * paths mapped to local directories and the APIs on loopback ports; the
 * pod's own probe command decides when the server is ready.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { TorchServeStackArgs } from "../../components/args";
import { publishArchive } from "../../components/cli/archive";
import { rotateStore } from "../../components/cli/rotate";
import { archiveSpec } from "../../components/commands";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE, renderConfigProperties } from "../../components/configProperties";
import { listArchives } from "../../components/modelStore";
import { buildPodSpec } from "../../components/podSpec";
import { planRotation } from "../../components/rotation";
import { Settings, resolveSettings } from "../../components/settings";
import { realFiles } from "../support/fixtures";
import { tempDir } from "../support/tempDir";
import { venv } from "../e2e/support/environment";
import { HANDLER, listDir, makeModel } from "../e2e/support/models";
import { TorchServeProcess, freePorts } from "./support/server";

const INPUT = [1, 2, 3, 4];
/** The fixture model answers scale * [a + 2b + 3c + 4d + 1, a - b + c - d]. */
const expectedOutput = (scale: number) => [31 * scale, -2 * scale];

describe("a pod's TorchServe on the rendered config and model store", () => {
    const work = tempDir("serve-");
    const store = path.join(work, "model-store");
    let pythonEnv: string;
    let running: TorchServeProcess | undefined;
    const startupSeconds: Record<string, number> = {};

    /** The stack's settings, on free loopback ports (gRPC too, which has no Service). */
    async function settingsFor(extra: Partial<TorchServeStackArgs> = {}): Promise<Settings> {
        const [inference, management, metrics, grpcInference, grpcManagement] = await freePorts(5);
        const model = await makeModel(pythonEnv, path.join(work, "model-placeholder"), 1);
        return resolveSettings({
            namespace: "serve",
            modelName: "demo",
            serializedFile: model.serializedFile,
            handler: HANDLER,
            modelStorePath: store,
            inferencePort: inference,
            managementPort: management,
            metricsPort: metrics,
            extraProperties: {
                grpc_inference_address: "127.0.0.1", grpc_inference_port: String(grpcInference),
                grpc_management_address: "127.0.0.1", grpc_management_port: String(grpcManagement),
            },
            ...extra,
        }, realFiles);
    }

    /** One deploy: the archive step, then (after the rollout) the rotation step, as `pulumi up` runs them. */
    async function deploy(settings: Settings, version: string, scale: number): Promise<void> {
        const model = await makeModel(pythonEnv, path.join(work, `model-${version}`), scale);
        const modelSettings = { ...settings.model, serializedFile: model.serializedFile, extraFiles: [model.labels], archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver") };
        publishArchive(archiveSpec(modelSettings, version));
        rotateStore({ store, model: "demo", current: version, keep: settings.model.keep });
    }

    /** Starts TorchServe exactly as the pod of `version` would run it. */
    async function startPod(settings: Settings, version: string): Promise<{ server: TorchServeProcess; urls: Record<string, string>; budget: number; ready: string[] }> {
        const versions = planRotation(listArchives(store, "demo"), version, settings.model.keep).keep;
        const configText = renderConfigProperties({ modelName: "demo", versions, server: settings.server, bindAddress: "127.0.0.1" });
        const pod = buildPodSpec({ settings, version, configMapName: "config", claimName: "claim" }) as any;
        const container = pod.containers[0];
        const workdir = tempDir("serve-pod-");
        const server = new TorchServeProcess({
            command: [...container.command, ...container.args],
            files: { [`${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`]: configText },
            mounts: { [CONTAINER_CONFIG_DIR]: path.join(workdir, "config"), [CONTAINER_MODEL_STORE]: store },
            workdir,
            binDir: path.join(pythonEnv, "bin"),
        }).start();
        running = server;
        const p = settings.server.ports;
        const probe = container.startupProbe;
        return {
            server,
            urls: { inference: `http://127.0.0.1:${p.inference}`, management: `http://127.0.0.1:${p.management}`, metrics: `http://127.0.0.1:${p.metrics}` },
            budget: probe.periodSeconds * probe.failureThreshold,
            ready: probe.exec.command,
        };
    }

    async function predict(url: string): Promise<{ status: number; body: any }> {
        const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ data: INPUT }) });
        const text = await response.text();
        return { status: response.status, body: response.status === 200 ? JSON.parse(text) : text };
    }

    /** Names, sizes and mtimes of everything in the store. */
    function snapshot(dir: string): string[] {
        return fs.readdirSync(dir, { recursive: true }).map(String).sort().map((f) => {
            const stat = fs.statSync(path.join(dir, f));
            return `${f} ${stat.size} ${stat.mtimeMs}`;
        });
    }

    before(() => {
        pythonEnv = venv();
    });

    after(async () => {
        await running?.stop();
        console.log(`TorchServe start to startup probe passing (seconds): ${JSON.stringify(startupSeconds)}`);
    });

    it("serves one version under its stable name once the pod's startup probe passes, within its budget", async () => {
        const settings = await settingsFor();
        await deploy(settings, "v1", 1);
        const { server, urls, budget, ready } = await startPod(settings, "v1");
        assert.equal(server.probe(ready), false, "not ready before the server is up");
        startupSeconds.oneVersion = await server.waitForProbe(ready, budget);
        assert.ok(startupSeconds.oneVersion < budget, `ready after ${startupSeconds.oneVersion}s, budget ${budget}s`);
        const ping = await fetch(`${urls.inference}/ping`);
        assert.equal((await ping.json() as any).status, "Healthy");
        const answer = await predict(`${urls.inference}/predictions/demo`);
        assert.equal(answer.status, 200, answer.body);
        assert.deepEqual(answer.body.output, expectedOutput(1));
        await server.stop();
    });

    it("loads three kept versions: the newest is the default, older ones answer by version, and the store is not written", async () => {
        const settings = await settingsFor();
        await deploy(settings, "v2", 2);
        await deploy(settings, "v3", 3);
        const before = snapshot(store);
        const { server, urls, budget, ready } = await startPod(settings, "v3");
        startupSeconds.threeVersions = await server.waitForProbe(ready, budget);

        const models = await (await fetch(`${urls.management}/models`)).json() as any;
        assert.deepEqual(models.models.map((m: any) => m.modelName), ["demo"]);
        const all = await (await fetch(`${urls.management}/models/demo/all`)).json() as any[];
        assert.deepEqual(all.map((m) => m.modelVersion).sort(), ["v1", "v2", "v3"]);

        assert.deepEqual((await predict(`${urls.inference}/predictions/demo`)).body.output, expectedOutput(3), "the default is the newest version");
        assert.deepEqual((await predict(`${urls.inference}/predictions/demo/v1`)).body.output, expectedOutput(1));
        assert.deepEqual((await predict(`${urls.inference}/predictions/demo/v2`)).body.output, expectedOutput(2));

        const metrics = await fetch(`${urls.metrics}/metrics`);
        assert.equal(metrics.status, 200);
        const text = await metrics.text();
        assert.match(text, /^# TYPE \w+ (counter|gauge|histogram)/m, "Prometheus text format");
        assert.match(text, /ts_inference_requests_total\{[^}]*model_name="demo"/);

        const register = await fetch(`${urls.management}/models?url=demo.v1.mar`, { method: "POST" });
        assert.equal(register.status, 405, "the model register API is off");
        assert.deepEqual(snapshot(store), before, "the server only reads the store (it is mounted read-only in the pod)");
        await server.stop();
    });

    it("after two more bumps with keep = 3, a fresh server loads exactly the kept versions and ignores backup/", async () => {
        const settings = await settingsFor();
        await deploy(settings, "v4", 4);
        await deploy(settings, "v5", 5);
        assert.deepEqual(listDir(store), ["backup", "demo.v3.mar", "demo.v4.mar", "demo.v5.mar"]);
        assert.deepEqual(listDir(path.join(store, "backup")), ["demo.v1.mar", "demo.v2.mar"]);
        const { server, urls, budget, ready } = await startPod(settings, "v5");
        await server.waitForProbe(ready, budget);
        const models = await (await fetch(`${urls.management}/models`)).json() as any;
        assert.deepEqual(models.models.map((m: any) => m.modelName), ["demo"], "backup/ is not loaded as a model");
        const all = await (await fetch(`${urls.management}/models/demo/all`)).json() as any[];
        assert.deepEqual(all.map((m) => m.modelVersion).sort(), ["v3", "v4", "v5"]);
        assert.deepEqual((await predict(`${urls.inference}/predictions/demo`)).body.output, expectedOutput(5));
        await server.stop();
    });

    it("keeps a pod unready while its model loads, although /ping already says Healthy", async () => {
        const slowStore = path.join(work, "slow-store");
        const slowHandler = path.join(work, "slow_handler.py");
        fs.writeFileSync(slowHandler, "import time\nfrom handler import TinyHandler\n\n\nclass Slow(TinyHandler):\n    def initialize(self, context):\n        time.sleep(8)\n        super().initialize(context)\n");
        const model = await makeModel(pythonEnv, path.join(work, "model-slow"), 1);
        const settings = await settingsFor({ modelName: "slow", modelStorePath: slowStore, handler: slowHandler });
        publishArchive(archiveSpec({ ...settings.model, serializedFile: model.serializedFile, extraFiles: [model.labels, HANDLER], archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver") }, "v1"));
        const versions = planRotation(listArchives(slowStore, "slow"), "v1", 1).keep;
        const pod = buildPodSpec({ settings, version: "v1", configMapName: "c", claimName: "p" }) as any;
        const workdir = tempDir("serve-slow-");
        const server = new TorchServeProcess({
            command: [...pod.containers[0].command, ...pod.containers[0].args],
            files: { [`${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`]: renderConfigProperties({ modelName: "slow", versions, server: settings.server, bindAddress: "127.0.0.1" }) },
            mounts: { [CONTAINER_CONFIG_DIR]: path.join(workdir, "config"), [CONTAINER_MODEL_STORE]: slowStore },
            workdir,
            binDir: path.join(pythonEnv, "bin"),
        }).start();
        running = server;
        const ready = pod.containers[0].readinessProbe.exec.command;
        const inference = `http://127.0.0.1:${settings.server.ports.inference}`;
        const pingAt = await waitForPing(`${inference}/ping`, 60, server.startedAt);
        assert.equal(server.probe(ready), false, `at ${pingAt.toFixed(1)}s /ping is Healthy but the model is still loading`);
        const readyAt = await server.waitForProbe(ready, 60);
        assert.ok(readyAt - pingAt > 5, `ready ${readyAt.toFixed(1)}s after start, /ping Healthy at ${pingAt.toFixed(1)}s`);
        await server.stop();
    });

    it("with token authorization on, the probes still work, and requests need the key", async () => {
        const settings = await settingsFor({ tokenAuth: true });
        const { server, urls, budget, ready } = await startPod(settings, "v5");
        await server.waitForProbe(ready, budget);
        const keys = JSON.parse(fs.readFileSync(path.join(server.workdir, "key_file.json"), "utf8"));
        const withKey = await fetch(`${urls.inference}/predictions/demo`, { method: "POST", headers: { authorization: `Bearer ${keys.inference.key}`, "content-type": "application/json" }, body: JSON.stringify({ data: INPUT }) });
        assert.equal(withKey.status, 200);
        const refused = await predict(`${urls.inference}/predictions/demo`);
        assert.equal(refused.status, 400);
        assert.match(String(refused.body), /Token Authorization failed/);
        const management = await fetch(`${urls.management}/models`);
        assert.equal(management.status, 400, "management refuses requests without the management key");
        const allowed = await fetch(`${urls.management}/models`, { headers: { authorization: `Bearer ${keys.management.key}` } });
        assert.equal(allowed.status, 200);
        await server.stop();
    });
});

/** Seconds from `startedAt` until `url` answers 200. */
async function waitForPing(url: string, budgetSeconds: number, startedAt: number): Promise<number> {
    while (performance.now() < startedAt + budgetSeconds * 1000) {
        try {
            if ((await fetch(url)).status === 200) {
                return (performance.now() - startedAt) / 1000;
            }
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} not 200 within ${budgetSeconds}s`);
}

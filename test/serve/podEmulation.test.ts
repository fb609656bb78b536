/**
 * What a pod gets really serves. The Deployment's container command and args,
 * the rendered config.properties and the model store (archived and rotated
 * by the project's own archive and rotation steps, with the real
 * torch-model-archiver) are given to the real TorchServe 0.12, with the mount
 * paths mapped to local directories and the APIs on loopback ports; the
 * pod's own probe command decides when the server is ready. The store starts
 * as one from before directories (v1 a `.mar`); later versions are model
 * directories (the default), loaded next to it and rotated with it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { venv } from "../e2e/support/environment";
import { HANDLER, listDir } from "../e2e/support/models";
import { LocalPod, deployVersion, localSettings, startLocalPod, storePart } from "./support/pod";

const INPUT = [1, 2, 3, 4];
/** The fixture model answers scale * [a + 2b + 3c + 4d + 1, a - b + c - d]. */
const expectedOutput = (scale: number) => [31 * scale, -2 * scale];

describe("a pod's TorchServe on the rendered config and model store", () => {
    const store = path.join(tempDir("serve-"), "model-store");
    fs.mkdirSync(store);
    let pythonEnv: string;
    let pod: LocalPod | undefined;
    const readySeconds: Record<string, number> = {};

    async function predict(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
        const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({ data: INPUT }),
        });
        const text = await response.text();
        return { status: response.status, body: response.status === 200 ? JSON.parse(text) : text };
    }

    async function getJson(url: string, headers: Record<string, string> = {}): Promise<any> {
        const response = await fetch(url, { headers });
        assert.equal(response.status, 200, `${url}: ${response.status}`);
        return response.json();
    }

    /** Names, sizes and mtimes of everything in a directory tree. */
    function snapshot(dir: string): string[] {
        return fs
            .readdirSync(dir, { recursive: true })
            .map(String)
            .sort()
            .map((f) => {
                const stat = fs.statSync(path.join(dir, f));
                return `${f} ${stat.size} ${stat.mtimeMs}`;
            });
    }

    before(() => {
        pythonEnv = venv();
    });

    after(async () => {
        await pod?.server.stop();
        console.log(
            `TorchServe start until the pod's readiness check passes (seconds): ${JSON.stringify(readySeconds)}`,
        );
    });

    it("serves one version under its stable name once the pod's startup probe passes, within its budget", async () => {
        // A version published as a .mar, as every version was before directories.
        const settings = await localSettings(store, { archiveFormat: "zip-store" });
        await deployVersion(pythonEnv, settings, "v1", 1);
        pod = startLocalPod(pythonEnv, settings, "v1");
        assert.equal(pod.server.probe(pod.ready), false, "not ready before the server is up");
        readySeconds.oneVersion = await pod.server.waitForProbe(pod.ready, pod.budget);
        const ping = await getJson(`${pod.urls.inference}/ping`);
        assert.equal(ping.status, "Healthy");
        const answer = await predict(`${pod.urls.inference}/predictions/demo`);
        assert.equal(answer.status, 200, answer.body);
        assert.deepEqual(answer.body.output, expectedOutput(1));
        assert.deepEqual(listDir(storePart(settings)), ["demo.v1.mar"]);
        await pod.server.stop();
    });

    it("loads three kept versions, a .mar and two directories: the newest is the default, older ones answer by version, and the store is not written", async () => {
        const settings = await localSettings(store);
        await deployVersion(pythonEnv, settings, "v2", 2);
        await deployVersion(pythonEnv, settings, "v3", 3);
        assert.deepEqual(listDir(storePart(settings)), ["demo.v1.mar", "demo.v2", "demo.v3"]);
        const before = snapshot(store);
        pod = startLocalPod(pythonEnv, settings, "v3");
        readySeconds.threeVersions = await pod.server.waitForProbe(pod.ready, pod.budget);

        const models = await getJson(`${pod.urls.management}/models`);
        assert.deepEqual(
            models.models.map((m: any) => m.modelName),
            ["demo"],
        );
        const all = await getJson(`${pod.urls.management}/models/demo/all`);
        assert.deepEqual(all.map((m: any) => m.modelVersion).sort(), ["v1", "v2", "v3"]);

        assert.deepEqual(
            (await predict(`${pod.urls.inference}/predictions/demo`)).body.output,
            expectedOutput(3),
            "the default is the newest version",
        );
        assert.deepEqual((await predict(`${pod.urls.inference}/predictions/demo/v1`)).body.output, expectedOutput(1));
        assert.deepEqual((await predict(`${pod.urls.inference}/predictions/demo/v2`)).body.output, expectedOutput(2));

        const metrics = await fetch(`${pod.urls.metrics}/metrics`);
        assert.equal(metrics.status, 200);
        const text = await metrics.text();
        assert.match(text, /^# TYPE \w+ (counter|gauge|histogram)/m, "Prometheus text format");
        assert.match(text, /ts_inference_requests_total\{[^}]*model_name="demo"/);

        assert.equal(
            regularFilesNamed(path.join(pod.server.workdir, "tmp"), "model.pt").length,
            1,
            "only the .mar is unpacked into the temp dir; the directories are loaded in place",
        );

        const register = await fetch(`${pod.urls.management}/models?url=demo.v1.mar`, { method: "POST" });
        assert.equal(register.status, 405, "the model register API is off");
        assert.deepEqual(
            snapshot(store),
            before,
            "the server only reads the store (it is mounted read-only in the pod)",
        );
        await pod.server.stop();
    });

    it("after two more bumps with keep = 3, a fresh server loads exactly the kept versions and ignores backup/", async () => {
        const settings = await localSettings(store);
        await deployVersion(pythonEnv, settings, "v4", 4);
        await deployVersion(pythonEnv, settings, "v5", 5);
        const part = storePart(settings);
        assert.deepEqual(listDir(part), ["backup", "demo.v3", "demo.v4", "demo.v5"]);
        assert.deepEqual(
            listDir(path.join(part, "backup")),
            ["demo.v1.mar", "demo.v2"],
            "the .mar and a directory, each moved whole",
        );
        pod = startLocalPod(pythonEnv, settings, "v5");
        await pod.server.waitForProbe(pod.ready, pod.budget);
        const models = await getJson(`${pod.urls.management}/models`);
        assert.deepEqual(
            models.models.map((m: any) => m.modelName),
            ["demo"],
            "backup/ is not loaded as a model",
        );
        const all = await getJson(`${pod.urls.management}/models/demo/all`);
        assert.deepEqual(all.map((m: any) => m.modelVersion).sort(), ["v3", "v4", "v5"]);
        assert.deepEqual((await predict(`${pod.urls.inference}/predictions/demo`)).body.output, expectedOutput(5));
        assert.ok(pod.server.probe(pod.preStop), "the preStop hook runs");
        assert.ok(await pod.server.exited(30), "the preStop hook stops the whole server, Java included");
    });

    it("keeps a pod unready while its model loads, although /ping already says Healthy", async () => {
        // The model loads until the test opens a gate: no race with the machine's speed or the JVM's start.
        const work = tempDir("serve-slow-");
        const loading = path.join(work, "loading");
        const gate = path.join(work, "gate");
        const slowHandler = path.join(work, "slow_handler.py");
        fs.writeFileSync(
            slowHandler,
            [
                "import os",
                "import time",
                "from handler import TinyHandler",
                "",
                "",
                "class Slow(TinyHandler):",
                "    def initialize(self, context):",
                `        open(${JSON.stringify(loading)}, "w").close()`,
                "        deadline = time.time() + 300",
                `        while not os.path.exists(${JSON.stringify(gate)}) and time.time() < deadline:`,
                "            time.sleep(0.1)",
                "        super().initialize(context)",
                "",
            ].join("\n"),
        );
        fs.mkdirSync(path.join(work, "store"));
        const settings = await localSettings(path.join(work, "store"), { modelName: "slow", handler: slowHandler });
        await deployVersion(pythonEnv, settings, "v1", 1, [HANDLER]);
        pod = startLocalPod(pythonEnv, settings, "v1");
        await waitFor(() => fs.existsSync(loading), 180, "the worker to start loading the model");
        await waitForPing(`${pod.urls.inference}/ping`, 180, performance.now());
        for (let sample = 0; sample < 3; sample++) {
            assert.equal(
                (await fetch(`${pod.urls.inference}/ping`)).status,
                200,
                "/ping is Healthy while the model loads",
            );
            assert.equal(pod.server.probe(pod.ready), false, `sample ${sample}: unready while the model loads`);
            await new Promise((r) => setTimeout(r, 300));
        }
        fs.writeFileSync(gate, "");
        // Ready soon after the load ends: the readiness period is 5 s; the budget leaves room for a loaded machine.
        const readyAfter = await pod.server.waitForProbe(pod.ready, 60, performance.now());
        readySeconds.afterModelLoaded = Number(readyAfter.toFixed(1));
        const answer = await predict(`${pod.urls.inference}/predictions/slow`);
        assert.equal(answer.status, 200, answer.body);
        await pod.server.stop();
    });

    it("stays unready when a version it should serve is missing, although TorchServe starts without it", async () => {
        // The default archive is gone (moved by hand, unreadable): TorchServe skips it and serves the others.
        const settings = await localSettings(store);
        const moved = path.join(storePart(settings), "demo.v5");
        fs.renameSync(moved, `${moved}.away`);
        try {
            pod = startLocalPod(pythonEnv, settings, "v5", ["v5", "v4"]);
            await waitForPing(`${pod.urls.inference}/ping`, 120, pod.server.startedAt);
            let all: any[] = [];
            for (let i = 0; i < 240; i++) {
                all = await getJson(`${pod.urls.management}/models/demo/all`);
                if (all.every((m: any) => m.workers.length > 0 && m.workers.every((w: any) => w.status === "READY"))) {
                    break;
                }
                await new Promise((r) => setTimeout(r, 250));
            }
            assert.deepEqual(
                all.map((m: any) => m.modelVersion),
                ["v4"],
                "the server started with only the older version",
            );
            assert.equal(
                (await predict(`${pod.urls.inference}/predictions/demo`)).body.version,
                "v4",
                "and would serve it as the default",
            );
            assert.equal(pod.server.probe(pod.ready), false, "but the pod is not ready: v5 is missing");
        } finally {
            await pod?.server.stop();
            fs.renameSync(`${moved}.away`, moved);
        }
    });

    it("with token authorization on, the probes still work, and requests need the key", async () => {
        // One pod: each pod generates its own keys (more are refused, see the settings tests).
        const settings = await localSettings(store, { tokenAuth: true, replicas: 1 });
        pod = startLocalPod(pythonEnv, settings, "v5");
        await pod.server.waitForProbe(pod.ready, pod.budget);
        const keys = JSON.parse(fs.readFileSync(path.join(pod.server.workdir, "key_file.json"), "utf8"));
        const withKey = await predict(`${pod.urls.inference}/predictions/demo`, {
            authorization: `Bearer ${keys.inference.key}`,
        });
        assert.equal(withKey.status, 200);
        const refused = await predict(`${pod.urls.inference}/predictions/demo`);
        assert.equal(refused.status, 400);
        assert.match(String(refused.body), /Token Authorization failed/);
        assert.equal(
            (await fetch(`${pod.urls.management}/models`)).status,
            400,
            "management refuses requests without its key",
        );
        await getJson(`${pod.urls.management}/models`, { authorization: `Bearer ${keys.management.key}` });
        await pod.server.stop();
    });
});

/** Regular files (not symbolic links, which are not followed) named `name` anywhere under `dir`. */
function regularFilesNamed(dir: string, name: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const child = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return regularFilesNamed(child, name);
        }
        return entry.isFile() && entry.name === name ? [child] : [];
    });
}

/** Waits until `condition` holds, at most `budgetSeconds`. */
async function waitFor(condition: () => boolean, budgetSeconds: number, what: string): Promise<void> {
    const deadline = performance.now() + budgetSeconds * 1000;
    while (!condition()) {
        if (performance.now() > deadline) {
            throw new Error(`timed out after ${budgetSeconds}s waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

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

/**
 * The pod's model-ready check, run for real: the exec probe's command (with
 * the host's Python) against a stand-in for TorchServe's management API
 * answering `GET /models/<name>/all` the way TorchServe 0.12 does
 * (test/fixtures/model/FINDINGS.md, d). What it must decide comes from the
 * README ("every loaded version has minWorkers workers READY"), not from
 * the command's own text.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Settings, resolveSettings } from "../../../components/config";
import { buildPodSpec } from "../../../components/kubernetes";
import { makeModelDir, realFiles } from "../../support/fixtures";
import { tempDir } from "../../support/tempDir";

interface Answer {
    readonly status: number;
    readonly body: unknown;
}

/** One version as `GET /models/demo/all` lists it. */
function version(modelVersion: string, minWorkers: number, statuses: string[]): Record<string, unknown> {
    return {
        modelName: "demo",
        modelVersion,
        minWorkers,
        maxWorkers: Math.max(minWorkers, statuses.length),
        workers: statuses.map((status, i) => ({ id: String(9000 + i), status })),
    };
}

describe("the model-ready probe against a management API", () => {
    const fixture = makeModelDir();
    let server: http.Server;
    let answer: Answer = { status: 200, body: [] };
    const requests: { url: string; authorization?: string }[] = [];
    let settings: Settings;
    let tokenSettings: Settings;

    before(async () => {
        server = http.createServer((req, res) => {
            requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
            res.writeHead(answer.status, { "content-type": "application/json" });
            res.end(JSON.stringify(answer.body));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const managementPort = (server.address() as net.AddressInfo).port;
        settings = resolveSettings({ ...fixture.args, managementPort }, realFiles);
        tokenSettings = resolveSettings({ ...fixture.args, managementPort, tokenAuth: true, replicas: 1 }, realFiles);
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** The pod's readiness and startup exec commands; both must be the same check. */
    function probeCommand(of: Settings, served: readonly string[]): string[] {
        const input = { settings: of, version: served[0], served, storeSubdir: "ns/app", claimName: "s" };
        const container = (buildPodSpec({ ...input, config: { kind: "ConfigMap", name: "c" } }) as any).containers[0];
        assert.deepEqual(container.startupProbe.exec.command, container.readinessProbe.exec.command);
        return container.readinessProbe.exec.command;
    }

    /** Runs the probe as the kubelet would (in the server's working directory); true when it passes. */
    async function probe(
        body: unknown,
        options: { status?: number; of?: Settings; cwd?: string; served?: readonly string[] } = {},
    ) {
        answer = { status: options.status ?? 200, body };
        requests.length = 0;
        const [python, ...args] = probeCommand(options.of ?? settings, options.served ?? ["v2", "v1"]);
        assert.equal(python, "python", "the image's Python");
        return new Promise<boolean>((resolve) => {
            // Asynchronous: the stand-in server answers from this same process.
            execFile("python3", args, { cwd: options.cwd ?? tempDir("probe-cwd-"), timeout: 20_000 }, (error) =>
                resolve(error === null),
            );
        });
    }

    it("passes when every loaded version has its minimum workers, all READY, asking for the model by name", async () => {
        assert.equal(await probe([version("v2", 1, ["READY"]), version("v1", 1, ["READY"])]), true);
        assert.deepEqual(requests, [{ url: "/models/demo/all", authorization: undefined }]);
        assert.equal(await probe([version("v2", 2, ["READY", "READY"])], { served: ["v2"] }), true);
    });

    it("fails when a version the pod should serve is not loaded at all, though the others are READY", async () => {
        // TorchServe starts without a load_models archive it could not register (moved, unreadable).
        assert.equal(await probe([version("v1", 1, ["READY"])]), false, "v2, the default, is missing");
        assert.equal(await probe([version("v2", 1, ["READY"])]), false, "v1 is missing");
    });

    it("fails while any version's worker is still loading, though the others are READY", async () => {
        assert.equal(await probe([version("v2", 1, ["UNLOADING"]), version("v1", 1, ["READY"])]), false);
        assert.equal(await probe([version("v2", 1, ["READY"]), version("v1", 2, ["READY", "STARTING"])]), false);
    });

    it("fails when a version has fewer workers than minWorkers", async () => {
        assert.equal(await probe([version("v2", 2, ["READY"])], { served: ["v2"] }), false);
        assert.equal(await probe([version("v2", 1, [])], { served: ["v2"] }), false);
    });

    it("fails when the model is not loaded at all, or the API answers an error", async () => {
        assert.equal(await probe([]), false, "no version loaded");
        assert.equal(
            await probe(
                { code: 404, type: "ModelNotFoundException", message: "Model not found: demo" },
                { status: 404 },
            ),
            false,
        );
        assert.equal(await probe({ code: 500, message: "boom" }, { status: 500 }), false);
    });

    it("with token authorization, sends the management key from key_file.json in its working directory", async () => {
        const cwd = tempDir("probe-token-");
        fs.writeFileSync(
            path.join(cwd, "key_file.json"),
            JSON.stringify({
                management: { key: "mgmt-key", "expiration time": "x" },
                inference: { key: "inf-key", "expiration time": "x" },
                API: { key: "api-key" },
            }),
        );
        assert.equal(await probe([version("v2", 1, ["READY"])], { of: tokenSettings, cwd, served: ["v2"] }), true);
        assert.deepEqual(requests, [{ url: "/models/demo/all", authorization: "Bearer mgmt-key" }]);
    });
});

/**
 * The management API (set the default version, scale workers to 0) listens
 * only on the pod's loopback: the real TorchServe 0.12, on the pod's
 * rendered config, with 127.0.0.2 standing in for the pod's IP (where the
 * pod binds the other APIs, 0.0.0.0 in a pod). A client at the pod's IP is
 * refused at the management port, the pod's own readiness check (which calls
 * 127.0.0.1) passes, and inference and metrics answer. With
 * `exposeManagement` it listens at the pod's IP too.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { venv } from "../e2e/support/environment";
import { LocalPod, deployVersion, localSettings, startLocalPod } from "./support/pod";

const POD_IP = "127.0.0.2";

/** The error code of a request that gets no HTTP answer, or its status. */
async function outcome(url: string, method = "GET"): Promise<string | number> {
    try {
        return (await fetch(url, { method })).status;
    } catch (error) {
        return ((error as Error).cause as NodeJS.ErrnoException)?.code ?? String(error);
    }
}

describe("the management API on the pod's loopback", () => {
    const store = path.join(tempDir("serve-mgmt-"), "model-store");
    fs.mkdirSync(store);
    let pythonEnv: string;
    let pod: LocalPod | undefined;

    before(() => {
        pythonEnv = venv();
    });

    after(async () => {
        await pod?.server.stop();
    });

    it("refuses a client at the pod's IP, while the probe passes and inference and metrics answer", async () => {
        const settings = await localSettings(store);
        await deployVersion(pythonEnv, settings, "v1", 1);
        pod = startLocalPod(pythonEnv, settings, "v1", ["v1"], POD_IP);
        await pod.server.waitForProbe(pod.ready, pod.budget);
        const p = settings.server.ports;
        assert.equal(await outcome(`http://${POD_IP}:${p.management}/models`), "ECONNREFUSED");
        assert.equal(
            await outcome(`http://${POD_IP}:${p.management}/models/demo/1?min_worker=0`, "PUT"),
            "ECONNREFUSED",
            "nobody at the pod's IP can scale the workers to 0",
        );
        assert.equal(await outcome(`http://127.0.0.1:${p.management}/models`), 200, "the pod itself can");
        const prediction = await fetch(`http://${POD_IP}:${p.inference}/predictions/demo`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ data: [1, 2, 3, 4] }),
        });
        assert.equal(prediction.status, 200);
        assert.equal(await outcome(`http://${POD_IP}:${p.metrics}/metrics`), 200);
        await pod.server.stop();
    });

    it("listens at the pod's IP with exposeManagement", async () => {
        // Bound where the other APIs are: 0.0.0.0 in a pod (loopback included), here only the stand-in IP.
        const settings = await localSettings(store, { exposeManagement: true });
        pod = startLocalPod(pythonEnv, settings, "v1", ["v1"], POD_IP);
        const url = `http://${POD_IP}:${settings.server.ports.management}/models`;
        let status: string | number = "";
        for (let i = 0; i < 240 && status !== 200; i++) {
            await new Promise((r) => setTimeout(r, 250));
            status = await outcome(url);
        }
        assert.equal(status, 200, pod.server.log());
        await pod.server.stop();
    });
});

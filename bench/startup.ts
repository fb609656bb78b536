/** TorchServe start until the pod's readiness check passes, with 1 and with 3 loaded versions of the fixture. */
import * as path from "node:path";
import { venv } from "../test/e2e/support/environment";
import { deployVersion, localSettings, startLocalPod } from "../test/serve/support/pod";
import { median, row } from "./measure";

export async function benchStartup(work: string, runs: number): Promise<string[]> {
    const pythonEnv = venv();
    const lines = [
        "| loaded versions | start to ready, median s | min s | max s | startup probe budget s |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const count of [1, 3]) {
        const store = path.join(work, `store-${count}`);
        let settings = await localSettings(store);
        for (let v = 1; v <= count; v++) {
            await deployVersion(pythonEnv, settings, `v${v}`, v);
        }
        const samples: number[] = [];
        let budget = 0;
        for (let run = 0; run < runs; run++) {
            settings = await localSettings(store);
            const pod = startLocalPod(pythonEnv, settings, `v${count}`);
            budget = pod.budget;
            try {
                samples.push(await pod.server.waitForProbe(pod.ready, pod.budget));
            } finally {
                await pod.server.stop();
            }
        }
        lines.push(row([String(count), median(samples), Math.min(...samples), Math.max(...samples), String(budget)]));
    }
    return lines;
}

/**
 * The store lock's heartbeat, a worker thread of the holder: renews its
 * lease every interval while the step's own thread may be busy for minutes
 * (a multi-GB copy or checksum runs synchronously), so a lease expires only
 * when the process dies or stops, not while it works.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heartbeat, renewOnce } from "./lockRecord";

const { intervalMs, ...beat } = workerData as Heartbeat & { intervalMs: number };
const timer = setInterval(() => {
    const outcome = renewOnce(beat);
    if (outcome !== "renewed") {
        clearInterval(timer);
        if (outcome === "lost") {
            parentPort?.postMessage("lost");
        }
    }
}, intervalMs);

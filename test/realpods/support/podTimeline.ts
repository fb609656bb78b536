/**
 * The pods of a stack as they come and go, from a `kubectl get pods --watch`
 * (every change, in order, with this host's receipt time in milliseconds):
 * when each was first seen, seen Ready, seen terminating, and deleted. The
 * load tests line their failed requests up against it, and wait on it until
 * no pod of the old version exists.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** One pod's life as the watch saw it (times: `Date.now()` when the event arrived). */
export interface PodLife {
    readonly name: string;
    readonly version: string;
    ip?: string;
    readonly firstSeen: number;
    /** The Ready condition's lastTransitionTime (API time, whole seconds, truncated), when Ready. */
    readyTransition?: number;
    /** When the watch first showed it terminating (deletionTimestamp set). */
    deletingSeen?: number;
    /** When it was asked to stop: deletionTimestamp minus its grace period (API time, whole seconds). */
    deletionRequested?: number;
    /** When the watch saw it deleted. */
    goneSeen?: number;
}

export class PodTimeline {
    readonly pods = new Map<string, PodLife>();
    private watch?: ChildProcess;
    private exited?: Promise<void>;

    constructor(
        private readonly env: NodeJS.ProcessEnv,
        private readonly namespace: string,
        private readonly selector: string,
    ) {}

    /** Starts the watch; resolves once the pods that exist now have been listed. */
    async start(): Promise<void> {
        const watch = spawn(
            "kubectl",
            [
                "get",
                "pods",
                "-n",
                this.namespace,
                "-l",
                this.selector,
                "--watch",
                "--output-watch-events",
                "-o",
                "json",
            ],
            { env: this.env, stdio: ["ignore", "pipe", "pipe"] },
        );
        this.watch = watch;
        let stderr = "";
        watch.stderr.on("data", (chunk) => (stderr += chunk));
        this.exited = new Promise((resolve) => watch.on("close", () => resolve()));
        const listed = new Promise<void>((resolve, reject) => {
            watch.on("close", (code) => reject(new Error(`kubectl --watch exited ${code} before listing: ${stderr}`)));
            // kubectl prints each watch event as one line of JSON: {"type":"ADDED","object":{...}}.
            createInterface({ input: watch.stdout }).on("line", (line) => {
                if (line.trim()) {
                    this.record(JSON.parse(line));
                    resolve();
                }
            });
        });
        await listed;
    }

    async stop(): Promise<void> {
        this.watch?.kill();
        await this.exited;
    }

    /** Pods of `version` that still exist (terminating ones included). */
    existing(version: string): PodLife[] {
        return [...this.pods.values()].filter((pod) => pod.version === version && pod.goneSeen === undefined);
    }

    /** Waits until no pod of `version` exists; false when `timeoutMs` passed first. */
    async waitUntilGone(version: string, timeoutMs: number): Promise<boolean> {
        const deadline = Date.now() + timeoutMs;
        while (this.existing(version).length > 0) {
            if (Date.now() > deadline) {
                return false;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return true;
    }

    private record(event: { type: string; object: any }): void {
        const pod = event.object;
        const now = Date.now();
        const name = pod.metadata.name;
        let life = this.pods.get(name);
        if (!life) {
            life = { name, version: pod.metadata.labels?.["app.kubernetes.io/version"] ?? "", firstSeen: now };
            this.pods.set(name, life);
        }
        life.ip = pod.status?.podIP ?? life.ip;
        const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready");
        if (ready?.status === "True" && life.readyTransition === undefined) {
            life.readyTransition = Date.parse(ready.lastTransitionTime);
        }
        if (pod.metadata.deletionTimestamp && life.deletingSeen === undefined) {
            life.deletingSeen = now;
            life.deletionRequested =
                Date.parse(pod.metadata.deletionTimestamp) - 1000 * (pod.metadata.deletionGracePeriodSeconds ?? 0);
        }
        if (event.type === "DELETED") {
            life.goneSeen = now;
        }
    }
}

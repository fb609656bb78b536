/**
 * A bounded, constant client load: `rate` prediction requests per second
 * through one URL (the Service), every answer recorded with the version that
 * served it. Two kinds of client: each request on a new connection (a client
 * behind a load balancer), or a pool of persistent connections that the
 * requests take in turn (what an ingress, a mesh sidecar or a Python
 * `requests.Session` holds), each reopened only when the server closes it.
 */
import * as http from "node:http";

/** How the requests reach the server: a new connection each, or a pool of `connections` kept-alive ones. */
export type ClientKind =
    { readonly kind: "new-connection" } | { readonly kind: "keep-alive"; readonly connections: number };

/** One request and what came back. */
export interface LoadSample {
    /** Seconds since the load started, when the request was sent. */
    readonly sentAt: number;
    /** Seconds since the load started, when the answer (or the error) came. */
    readonly doneAt: number;
    /** `Date.now()` when it was sent and when the answer came: to line up with the cluster's times. */
    readonly sentWall: number;
    readonly doneWall: number;
    /** HTTP status, or 0 when the request failed without one. */
    readonly status: number;
    /** The model version that answered (from the handler's reply). */
    readonly version?: string;
    /** Why the request failed, if it did. */
    readonly error?: string;
    /** Keep-alive: which pooled connection carried it, and whether it reused an open one. */
    readonly connection?: number;
    readonly reused?: boolean;
}

export class ConstantLoad {
    private readonly samples: LoadSample[] = [];
    private readonly pending = new Set<Promise<void>>();
    private timer?: NodeJS.Timeout;
    private started = 0;
    private sent = 0;
    /** Keep-alive: one agent per pooled connection (one socket each, kept open between requests). */
    private readonly pool: http.Agent[];

    /**
     * @param url the prediction endpoint, e.g. `http://<clusterIP>:8080/predictions/demo`
     * @param rate requests per second
     * @param body the JSON request body
     * @param timeoutMs a request that takes longer counts as failed
     */
    constructor(
        private readonly url: string,
        private readonly rate: number,
        private readonly body: string,
        private readonly timeoutMs = 10_000,
        client: ClientKind = { kind: "new-connection" },
    ) {
        this.pool =
            client.kind === "keep-alive"
                ? Array.from({ length: client.connections }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
                : [];
    }

    /** Seconds since start(). */
    now(): number {
        return (performance.now() - this.started) / 1000;
    }

    start(): void {
        this.started = performance.now();
        // Scheduled from the start time, not from the previous tick, so the rate holds under timer drift.
        const tick = () => {
            const due = Math.floor(this.now() * this.rate) + 1;
            while (this.sent < due) {
                this.sent++;
                const request = this.send();
                this.pending.add(request);
                void request.finally(() => this.pending.delete(request));
            }
        };
        this.timer = setInterval(tick, Math.max(5, Math.floor(250 / this.rate)));
        tick();
    }

    /** Stops sending, waits for the answers still on their way, and returns every sample in send order. */
    async stop(): Promise<LoadSample[]> {
        clearInterval(this.timer);
        await Promise.all([...this.pending]);
        this.pool.forEach((agent) => agent.destroy());
        return [...this.samples].sort((a, b) => a.sentAt - b.sentAt);
    }

    private send(): Promise<void> {
        const sentAt = this.now();
        const sentWall = Date.now();
        // Keep-alive: the requests take the pooled connections in turn.
        const connection = this.pool.length > 0 ? this.sent % this.pool.length : undefined;
        return new Promise((resolve) => {
            let reused: boolean | undefined;
            const done = (status: number, version?: string, error?: string) => {
                this.samples.push({
                    sentAt,
                    doneAt: this.now(),
                    sentWall,
                    doneWall: Date.now(),
                    status,
                    version,
                    error,
                    ...(connection === undefined ? {} : { connection, reused }),
                });
                resolve();
            };
            const request = http.request(
                this.url,
                {
                    method: "POST",
                    agent: connection === undefined ? false : this.pool[connection],
                    headers: {
                        "content-type": "application/json",
                        "content-length": Buffer.byteLength(this.body),
                        ...(connection === undefined ? { connection: "close" } : {}),
                    },
                    timeout: this.timeoutMs,
                },
                (response) => {
                    let text = "";
                    response.setEncoding("utf8");
                    response.on("data", (chunk) => (text += chunk));
                    response.on("end", () => {
                        let version: string | undefined;
                        try {
                            version = JSON.parse(text).version;
                        } catch {
                            // not JSON: recorded without a version
                        }
                        done(
                            response.statusCode ?? 0,
                            version,
                            response.statusCode === 200 ? undefined : text.slice(0, 200),
                        );
                    });
                    response.on("error", (error) => done(0, undefined, error.message));
                },
            );
            request.on("socket", () => (reused = request.reusedSocket));
            request.on("timeout", () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
            request.on("error", (error) => done(0, undefined, error.message));
            request.end(this.body);
        });
    }
}

/**
 * The report of a failed rollout, run by `pulumi up` only when the Deployment
 * controller gave up on the new version's pods (ProgressDeadlineExceeded): it
 * says which pods failed and why (their container state, the last lines of
 * their logs, their warning events, e.g. the startup probe's output), that the
 * previous version is still serving, and what to do; then exits 1, which fails
 * the run before the rotation step, so nothing is recorded.
 */
import { KubeAccess, kubeGet, kubeGetJson, loadKubeAccess } from "./kubeApi";
import { RolloutReportSpec, parseRolloutReportArgs } from "./commands";

/** What the report knows about one pod. */
export interface PodFacts {
    readonly name: string;
    readonly version: string;
    readonly ready: boolean;
    readonly node?: string;
    /** Container state, restarts and the last termination (with its message: the last log lines on error). */
    readonly container?: string;
    /** Warning events, newest last, e.g. `Unhealthy (x12): Startup probe failed: not ready: v2: workers UNLOADING`. */
    readonly events: readonly string[];
    /**
     * From the end of the container's log (of its previous run when it restarted): the lines that
     * tell why (errors, exceptions, tracebacks; each once), else the last lines.
     */
    readonly logTail: readonly string[];
    /** Why a part could not be read. */
    readonly unreadable?: string;
}

const VERSION_LABEL = "app.kubernetes.io/version";
/** Log lines read from the end of a failed container's log, and shown. */
const LOG_LINES_READ = 300;
const LOG_LINES = 15;

/** The fields of a container status the report reads. */
export interface ContainerStatus {
    readonly restartCount?: number;
    readonly state?: {
        readonly waiting?: { readonly reason?: string };
        readonly running?: { readonly startedAt?: string };
        readonly terminated?: { readonly reason?: string; readonly exitCode?: number };
    };
    readonly lastState?: {
        readonly terminated?: { readonly reason?: string; readonly exitCode?: number; readonly finishedAt?: string };
    };
}

/** The fields of a pod the report reads. */
interface Pod {
    readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
    readonly spec?: { readonly nodeName?: string };
    readonly status?: {
        readonly phase?: string;
        readonly conditions?: readonly { readonly type: string; readonly status: string }[];
        readonly containerStatuses?: readonly ContainerStatus[];
    };
}

/** The fields of an event the report reads. */
interface Event {
    readonly type?: string;
    readonly reason?: string;
    readonly message?: string;
    readonly count?: number;
    readonly lastTimestamp?: string;
    readonly eventTime?: string;
    readonly metadata?: { readonly creationTimestamp?: string };
}

/** Reads the stack's pods, with events and log tails for those of `spec.version` that are not ready. */
export async function gatherPods(access: KubeAccess, spec: RolloutReportSpec): Promise<PodFacts[]> {
    const ns = encodeURIComponent(spec.namespace);
    const selector = encodeURIComponent(`app.kubernetes.io/instance=${spec.app}`);
    const { items: pods } = await kubeGetJson<{ items: Pod[] }>(
        access,
        `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}`,
    );
    const facts: PodFacts[] = [];
    for (const pod of pods) {
        const name: string = pod.metadata.name;
        const version: string = pod.metadata.labels?.[VERSION_LABEL] ?? "";
        const ready = (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
        if (version !== spec.version || ready) {
            facts.push({ name, version, ready, events: [], logTail: [] });
            continue;
        }
        const status = (pod.status?.containerStatuses ?? [])[0];
        const problems: string[] = [];
        const eventSelector = encodeURIComponent(`involvedObject.name=${name}`);
        const events = await kubeGetJson<{ items: Event[] }>(
            access,
            `/api/v1/namespaces/${ns}/events?fieldSelector=${eventSelector}`,
        ).then(
            (list) =>
                list.items
                    .filter((e) => e.type === "Warning")
                    .sort((a, b) => timeOf(a).localeCompare(timeOf(b)))
                    .map((e) => `${e.reason}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}: ${eventText(e.message)}`),
            (error: Error) => (problems.push(`events: ${error.message}`), [] as string[]),
        );
        // A container that never started has no log.
        const started = Boolean(status?.state?.running ?? status?.state?.terminated ?? status?.lastState?.terminated);
        const previous = (status?.restartCount ?? 0) > 0;
        const logQuery = `tailLines=${LOG_LINES_READ}${previous ? "&previous=true" : ""}`;
        const logTail = !started
            ? []
            : await kubeGet(access, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}/log?${logQuery}`).then(
                  (text: string) => whyLines(text.split("\n")),
                  (error: Error) => (problems.push(`logs: ${error.message}`), [] as string[]),
              );
        facts.push({
            name,
            version,
            ready,
            node: pod.spec?.nodeName,
            container: status ? describeContainer(status) : `phase ${pod.status?.phase ?? "unknown"}`,
            events,
            logTail,
            ...(problems.length > 0 ? { unreadable: problems.join("; ") } : {}),
        });
    }
    return facts;
}

function timeOf(event: Event): string {
    return String(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? "");
}

/**
 * The lines of a log tail that tell why: the exceptions raised (`SomeError:
 * message`, a worker's traceback ending as TorchServe logs it) first, then
 * other lines naming an error or a failure, each once (the server retries a
 * failing worker, repeating them), at most {@link LOG_LINES}, in log order;
 * the plain last lines when none tells anything.
 */
export function whyLines(lines: readonly string[]): string[] {
    const text = lines.filter((line) => line.trim() !== "");
    // TorchServe's lines start with a timestamp and a level: the same message again is the same line.
    const message = (line: string) => line.replace(/^\S+ \[[A-Z ]+\] /, "");
    const lastIndex = new Map<string, number>();
    text.forEach((line, i) => lastIndex.set(message(line), i));
    const unique = [...lastIndex.values()];
    const raised = unique.filter((i) => /\b\w*(Error|Exception)\b: \S/.test(message(text[i])));
    const telling = unique.filter(
        (i) => !raised.includes(i) && /error|exception|traceback|raise |failed/i.test(message(text[i])),
    );
    if (raised.length + telling.length === 0) {
        return text.slice(-LOG_LINES);
    }
    const chosen = [...raised.slice(-LOG_LINES), ...telling.slice(-Math.max(0, LOG_LINES - raised.length))];
    return chosen.sort((a, b) => a - b).map((i) => text[i]);
}

/** An event's message on one line; a probe's Python traceback shortened to its last line. */
function eventText(message: unknown): string {
    const text = String(message ?? "");
    const traceback = text.indexOf("Traceback (most recent call last)");
    if (traceback < 0) {
        return oneLine(text);
    }
    const last = text
        .slice(traceback)
        .split("\n")
        .filter((line) => line.trim() !== "")
        .pop();
    return oneLine(`${text.slice(0, traceback)}${last ?? ""}`);
}

function oneLine(text: unknown): string {
    const line = String(text ?? "")
        .replace(/\s+/g, " ")
        .trim();
    return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

/** A container status in one line: state, restarts, and how the last run ended. */
export function describeContainer(status: ContainerStatus): string {
    const parts: string[] = [];
    const state = status.state ?? {};
    if (state.waiting) {
        parts.push(`waiting (${state.waiting.reason ?? "?"})`);
    } else if (state.running) {
        parts.push(`running since ${state.running.startedAt ?? "?"}, not ready`);
    } else if (state.terminated) {
        parts.push(`terminated (${state.terminated.reason ?? "?"}, exit ${state.terminated.exitCode})`);
    }
    const restarts = status.restartCount ?? 0;
    if (restarts > 0) {
        parts.push(`restarted ${restarts} time${restarts === 1 ? "" : "s"}`);
    }
    const last = status.lastState?.terminated;
    if (last) {
        parts.push(`last run ended ${last.reason ?? "?"} (exit ${last.exitCode}) at ${last.finishedAt ?? "?"}`);
    }
    return parts.join("; ");
}

/** The report's text. `pods` undefined: they could not be read (`why`). */
export function formatRolloutReport(
    spec: RolloutReportSpec,
    pods: readonly PodFacts[] | undefined,
    why?: string,
): string {
    const deadline = spec.startupSeconds + spec.marginSeconds;
    const lines = [
        `the rollout of ${spec.model} ${spec.version} failed: its new pods were not ready within ` +
            `progressDeadlineSeconds ${deadline} (startupTimeoutSeconds ${spec.startupSeconds} + ` +
            `podStartMarginSeconds ${spec.marginSeconds})` +
            (spec.replicaSet ? `; the Deployment controller gave up on ReplicaSet ${spec.replicaSet}` : "") +
            ".",
    ];
    const byVersion = new Map<string, PodFacts[]>();
    for (const pod of pods ?? []) {
        byVersion.set(pod.version, [...(byVersion.get(pod.version) ?? []), pod]);
    }
    if (spec.previous) {
        const old = byVersion.get(spec.previous) ?? [];
        const ready = old.filter((p) => p.ready).length;
        // A run that changed only the configuration rolls pods of the same version.
        const what =
            spec.previous === spec.version
                ? `The pods of ${spec.previous} with the configuration before this run are`
                : `The previous version ${spec.previous} is`;
        lines.push(
            pods === undefined
                ? `${what} still deployed (the Deployment keeps them until new pods are ready).`
                : `${what} still serving: ${ready} ready pod${ready === 1 ? "" : "s"}.`,
        );
    } else {
        lines.push("No version was deployed before: nothing serves.");
    }
    lines.push(
        spec.previous === spec.version
            ? "Nothing was recorded and the store was not rotated."
            : "Nothing was recorded and the store was not rotated: the stack's release is still " +
                  `${spec.previous || "empty"}, and ${spec.version} is not loaded again unless it is deployed again.`,
    );
    if (pods === undefined) {
        const selector = `app.kubernetes.io/instance=${spec.app},${VERSION_LABEL}=${spec.version}`;
        lines.push(`Why: the pods could not be read (${why}); see them with:`);
        lines.push(`  kubectl -n ${spec.namespace} describe pods -l ${selector}`);
        lines.push(`  kubectl -n ${spec.namespace} logs -l ${selector} --tail ${LOG_LINES}`);
    } else {
        const failed = (byVersion.get(spec.version) ?? []).filter((p) => !p.ready);
        if (failed.length === 0) {
            lines.push(`Why: no unready pod of ${spec.version} is left to read.`);
        }
        for (const pod of failed) {
            lines.push(
                `Pod ${pod.name} (${spec.version}${pod.node ? `, node ${pod.node}` : ""}): ${pod.container ?? ""}`,
            );
            pod.events.slice(-5).forEach((event) => lines.push(`  event ${event}`));
            if (pod.logTail.length > 0) {
                lines.push("  from its log:");
                pod.logTail.forEach((line) => lines.push(`    ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`));
            }
            if (pod.unreadable) {
                lines.push(`  (not read: ${pod.unreadable})`);
            }
        }
    }
    const stack = spec.stack;
    lines.push(
        spec.previous
            ? `What to do: roll back with npm run deploy -- --stack ${stack} --model-version ${spec.previous} ` +
                  `(or pulumi config set modelVersion ${spec.previous} and pulumi up), ` +
                  "or fix forward: deploy a new version with fixed files."
            : "What to do: fix the model and deploy it again (a new version).",
    );
    return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<never> {
    const spec = parseRolloutReportArgs(argv);
    let pods: PodFacts[] | undefined;
    let why: string | undefined;
    try {
        const access = loadKubeAccess({ content: process.env.TS_STACK_KUBECONFIG || undefined, context: spec.context });
        pods = await gatherPods(access, spec);
    } catch (error) {
        why = (error as Error).message;
    }
    const report = formatRolloutReport(spec, pods, why);
    console.error(
        report
            .split("\n")
            .map((line) => `[torchserve-stack rollout] ${line}`)
            .join("\n"),
    );
    process.exit(1);
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((error: Error) => {
        console.error(`[torchserve-stack rollout] error: ${error.message}`);
        process.exit(1);
    });
}

/**
 * The pod's startup, readiness and liveness probes, and the in-pod check they
 * run. Periods and budgets come from measurements (README "Performance").
 */
import * as k8s from "@pulumi/kubernetes";
import { Settings } from "../config";
import { LOOPBACK } from "../torchserve";
import { PORT_NAMES } from "./names";

/**
 * How often the startup probe checks; its failure threshold follows from the
 * startup budget. Short, because the fixture is ready 2.5-3 s after start
 * (README "Performance"): a pod becomes ready at most 2 s after its models
 * have loaded, and each pod of a rollout waits that much at most.
 */
export const STARTUP_PROBE_PERIOD_SECONDS = 2;

type Probes = Pick<k8s.types.input.core.v1.Container, "startupProbe" | "readinessProbe" | "livenessProbe">;

/**
 * A check that every version the pod should serve is loaded with at least
 * its minimum workers READY, through the management API inside the pod (on
 * its loopback, where the API listens unless exposed).
 * Measured on TorchServe 0.12: `/ping` answers 200 Healthy as soon as the
 * frontend is up, seconds before a model's workers have loaded (and even when
 * they fail), and TorchServe starts without a `load_models` archive it could
 * not register, so the check names the expected versions: a pod missing one
 * never becomes ready. Uses the image's Python; with token authorization on,
 * it reads the management key from key_file.json in the server's directory.
 * On failure it prints which version is not ready and its workers' states
 * (the kubelet puts that in the pod's "probe failed" event).
 */
export function modelReadyCommand(settings: Settings, expected: readonly string[]): string[] {
    if (expected.length === 0) {
        throw new Error("the readiness check needs the versions the pod serves");
    }
    const url = `http://${LOOPBACK}:${settings.server.ports.management}/models/${settings.model.name}/all`;
    const script = [
        "import json,os,sys,urllib.request as r",
        `q=r.Request(${JSON.stringify(url)})`,
        "k='key_file.json'",
        "os.path.exists(k) and q.add_header('Authorization','Bearer '+json.load(open(k))['management']['key'])",
        "v={m['modelVersion']:m for m in json.load(r.urlopen(q,timeout=4))}",
        `e=${JSON.stringify([...expected])}`,
        "o=lambda x:x in v and len(v[x]['workers'])>=v[x]['minWorkers'] and " +
            "all(w['status']=='READY' for w in v[x]['workers'])",
        "b=[x+(': not loaded' if x not in v else ': workers '+(','.join(w['status'] for w in v[x]['workers']) or " +
            "'none')) for x in e if not o(x)]",
        "b and print('not ready: '+'; '.join(b))",
        "sys.exit(1 if b else 0)",
    ].join(";");
    return ["python", "-c", script];
}

/**
 * Startup and readiness: the model's workers are READY (see
 * {@link modelReadyCommand}), so a rollout only moves traffic to pods that can
 * answer. Liveness: the frontend answers `/ping` (a TCP check when token
 * authorization is on, since `/ping` then needs a key); TorchServe restarts
 * crashed workers itself, so liveness does not restart a pod for that.
 */
export function buildProbes(settings: Settings, expected: readonly string[]): Probes {
    const modelReady = { exec: { command: modelReadyCommand(settings, expected) } };
    const alive = settings.server.tokenAuth
        ? { tcpSocket: { port: PORT_NAMES.inference } }
        : { httpGet: { path: "/ping", port: PORT_NAMES.inference } };
    return {
        startupProbe: {
            ...modelReady,
            periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
            timeoutSeconds: 5,
            failureThreshold: Math.ceil(settings.server.startupTimeoutSeconds / STARTUP_PROBE_PERIOD_SECONDS),
        },
        readinessProbe: { ...modelReady, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 },
        livenessProbe: { ...alive, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}

/**
 * Settings of what the pods expose and to whom: the inference Service's type
 * and extra ports, the NetworkPolicy's sources (inference clients, the
 * metrics scraper), and where the pods may connect to (`restrictEgress`).
 */
import { Cidr, cidrContains, hasHostBits, networkOf, parseCidr } from "./cidr";
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set, setPathCommand as setPath } from "./errors";
import { SERVICE_TYPES, ServiceType, TorchServeStackArgs } from "./stackArgs";
import { isDnsLabel } from "./validators";

export interface ServiceSettings {
    readonly type: ServiceType;
    readonly exposeManagement: boolean;
    readonly exposeMetrics: boolean;
    readonly networkPolicy: boolean;
    /** Namespaces admitted to the inference port; empty: any source. */
    readonly inferenceFromNamespaces: readonly string[];
    /** The namespace admitted to the metrics port. */
    readonly metricsScraperNamespace: string;
    /** Egress only to the cluster's DNS and {@link egressAllowedTo}; false: egress is not restricted. */
    readonly restrictEgress: boolean;
    /** Where the pods may connect to besides DNS, with `restrictEgress`. */
    readonly egressAllowedTo: readonly EgressDestination[];
}

/** An address block the pods may reach with `restrictEgress`: on one TCP port, or (no port) on every port. */
export interface EgressDestination {
    /** The block in canonical CIDR notation. */
    readonly cidr: string;
    readonly family: 4 | 6;
    readonly port?: number;
}

/**
 * The clouds' instance metadata endpoints (AWS, GCP, Azure, OCI: 169.254.169.254; Alibaba:
 * 100.100.100.200; AWS over IPv6: fd00:ec2::254). They hand out the node's credentials, so a
 * restricted egress never admits them, whatever block `egressAllowedTo` lists.
 */
export const METADATA_ENDPOINTS: readonly string[] = ["169.254.169.254/32", "100.100.100.200/32", "fd00:ec2::254/128"];

/** The metadata endpoints `block` holds (they are excepted from it). */
export function metadataEndpointsIn(block: Cidr): string[] {
    return METADATA_ENDPOINTS.filter((endpoint) => cidrContains(block, parseCidr(endpoint)!));
}

/** An `egressAllowedTo` entry: `CIDR` (every port) or `CIDR:PORT` (that TCP port); a problem otherwise. */
export function parseEgressEntry(entry: string): EgressDestination | { problem: string; example: string } {
    const match = /^(.+\/[0-9]{1,3})(?::([0-9]{1,5}))?$/.exec(entry.trim());
    const cidr = match ? parseCidr(match[1]) : undefined;
    if (!match || !cidr) {
        const bare = parseCidr(`${entry.trim()}/${entry.includes(":") ? 128 : 32}`);
        return {
            problem:
                "is not an address block in CIDR notation, optionally with a TCP port (10.0.0.0/8, " +
                "10.0.0.5/32:3128, fd00::/8)",
            example: bare ? `${networkOf(bare)}` : "10.0.0.5/32:3128",
        };
    }
    const port = match[2] === undefined ? undefined : Number(match[2]);
    const canonical = networkOf(cidr);
    const written = port === undefined ? canonical : `${canonical}:${port}`;
    if (port !== undefined && (port < 1 || port > 65535)) {
        return { problem: "has a port outside 1-65535", example: `${canonical}:443` };
    }
    if (hasHostBits(cidr)) {
        return { problem: `has host bits set: the block it means is ${canonical}`, example: written };
    }
    if (METADATA_ENDPOINTS.some((endpoint) => cidrContains(parseCidr(endpoint)!, cidr))) {
        return {
            problem:
                "is the cloud's instance metadata endpoint, which hands out the node's credentials: " +
                "restrictEgress never admits it",
            example: "10.0.0.5/32:3128",
        };
    }
    return { cidr: canonical, family: cidr.family, ...(port === undefined ? {} : { port }) };
}

export function resolveService(args: TorchServeStackArgs, problems: ProblemList): ServiceSettings {
    const type = args.serviceType ?? DEFAULTS.serviceType;
    if (!SERVICE_TYPES.includes(type)) {
        problems.add({
            key: "serviceType",
            value: type,
            problem: `must be one of ${SERVICE_TYPES.join(", ")}`,
            fix: set("serviceType", DEFAULTS.serviceType),
        });
    }
    const inferenceFromNamespaces = args.inferenceFromNamespaces ?? DEFAULTS.inferenceFromNamespaces;
    inferenceFromNamespaces.forEach((namespace, i) => {
        if (!isDnsLabel(namespace)) {
            problems.add({
                key: `inferenceFromNamespaces[${i}]`,
                value: namespace,
                problem: "is not a valid Kubernetes namespace name",
                fix: setPath(`inferenceFromNamespaces[${i}]`, "ml-clients"),
            });
        }
    });
    if (inferenceFromNamespaces.length > 0 && type !== "ClusterIP" && SERVICE_TYPES.includes(type)) {
        problems.add({
            key: "inferenceFromNamespaces",
            value: inferenceFromNamespaces,
            problem:
                `admits only pods of those namespaces, so the ${type} Service's clients outside the ` +
                "cluster would be refused",
            fix: `pulumi config rm inferenceFromNamespaces, or ${set("serviceType", "ClusterIP")}`,
        });
    }
    const metricsScraperNamespace = args.metricsScraperNamespace ?? DEFAULTS.metricsScraperNamespace;
    if (!isDnsLabel(metricsScraperNamespace)) {
        problems.add({
            key: "metricsScraperNamespace",
            value: metricsScraperNamespace,
            problem: "is not a valid Kubernetes namespace name (the namespace your Prometheus runs in)",
            fix: set("metricsScraperNamespace", DEFAULTS.metricsScraperNamespace),
        });
    }
    const networkPolicy = args.networkPolicy ?? DEFAULTS.networkPolicy;
    const restrictEgress = args.restrictEgress ?? DEFAULTS.restrictEgress;
    const egressAllowedTo = resolveEgress(args.egressAllowedTo ?? DEFAULTS.egressAllowedTo, problems);
    if (restrictEgress && !networkPolicy) {
        problems.add({
            key: "restrictEgress",
            value: true,
            problem: "is enforced by the NetworkPolicy, which networkPolicy false turns off",
            fix: `pulumi config rm networkPolicy, or pulumi config rm restrictEgress`,
        });
    }
    if (!restrictEgress && egressAllowedTo.length > 0) {
        problems.add({
            key: "egressAllowedTo",
            value: args.egressAllowedTo,
            problem: "has no effect: egress is not restricted unless restrictEgress is true",
            fix: `${set("restrictEgress", "true")}, or pulumi config rm egressAllowedTo`,
        });
    }
    return {
        type,
        exposeManagement: args.exposeManagement ?? DEFAULTS.exposeManagement,
        exposeMetrics: args.exposeMetrics ?? DEFAULTS.exposeMetrics,
        networkPolicy,
        inferenceFromNamespaces,
        metricsScraperNamespace,
        restrictEgress,
        egressAllowedTo,
    };
}

function resolveEgress(entries: readonly string[], problems: ProblemList): EgressDestination[] {
    const destinations: EgressDestination[] = [];
    entries.forEach((entry, i) => {
        const parsed = parseEgressEntry(entry);
        if ("problem" in parsed) {
            problems.add({
                key: `egressAllowedTo[${i}]`,
                value: entry,
                problem: parsed.problem,
                fix: setPath(`egressAllowedTo[${i}]`, parsed.example),
            });
        } else {
            destinations.push(parsed);
        }
    });
    return destinations;
}

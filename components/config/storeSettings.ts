/** Settings of the model-store volume: an existing claim, or the one the stack creates. */
import * as path from "node:path";
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { TorchServeStackArgs } from "./stackArgs";
import { isDnsSubdomain, isQuantity, quantityValue } from "./validators";

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

/**
 * Node directories a hostPath volume must not be, nor be inside: the node's
 * system, its runtime state and the kubelet's and container runtimes' data.
 * The pods mount the store read-only, but the archive step (on a single-node
 * cluster, the same directory) writes and renames in it.
 */
const SYSTEM_TREES = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib/containerd",
    "/var/lib/docker",
    "/var/lib/etcd",
    "/var/lib/kubelet",
    "/var/log",
    "/var/run",
];
/** Directories a hostPath volume must not be exactly (their subdirectories are fine). */
const SHARED_ROOTS = ["/", "/home", "/mnt", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/var/tmp"];

/** Why `hostPath` is no place for a model store, or undefined when it is one. */
export function systemPathProblem(hostPath: string): string | undefined {
    const normal = path.posix.normalize(hostPath).replace(/(.)\/+$/, "$1");
    const tree = SYSTEM_TREES.find((dir) => normal === dir || normal.startsWith(`${dir}/`));
    if (tree) {
        return `is ${normal === tree ? "" : "inside "}${tree}, a system directory of the node`;
    }
    if (SHARED_ROOTS.includes(normal)) {
        return `is ${normal} itself, a directory the node shares with everything else`;
    }
    return undefined;
}

export interface StoreSettings {
    readonly existingClaimName?: string;
    readonly size: string;
    readonly storageClass?: string;
    readonly accessModes: readonly string[];
    readonly hostPath?: string;
    readonly protect: boolean;
}

export function resolveStore(args: TorchServeStackArgs, problems: ProblemList): StoreSettings {
    const size = args.modelStoreSize ?? DEFAULTS.modelStoreSize;
    if (!isQuantity(size) || quantityValue(size) <= 0) {
        problems.add({
            key: "modelStoreSize",
            value: size,
            problem: "is not a positive Kubernetes quantity",
            fix: set("modelStoreSize", "20Gi"),
        });
    }
    if (args.modelStoreClaimName !== undefined && !isDnsSubdomain(args.modelStoreClaimName)) {
        problems.add({
            key: "modelStoreClaimName",
            value: args.modelStoreClaimName,
            problem: "is not a valid claim name",
            fix: set("modelStoreClaimName", "serving-model-pvc"),
        });
    }
    if (
        args.modelStoreStorageClass !== undefined &&
        args.modelStoreStorageClass !== "" &&
        !isDnsSubdomain(args.modelStoreStorageClass)
    ) {
        problems.add({
            key: "modelStoreStorageClass",
            value: args.modelStoreStorageClass,
            problem: "is not a valid storage class name",
            fix: set("modelStoreStorageClass", "standard"),
        });
    }
    const accessModes = args.modelStoreAccessModes ?? DEFAULTS.modelStoreAccessModes;
    if (!Array.isArray(accessModes) || accessModes.length === 0 || accessModes.some((m) => !ACCESS_MODES.includes(m))) {
        problems.add({
            key: "modelStoreAccessModes",
            value: accessModes,
            problem: `must be a non-empty list of ${ACCESS_MODES.join(", ")}`,
            fix: "pulumi config set --path 'modelStoreAccessModes[0]' ReadWriteMany",
        });
    }
    if (args.modelStoreHostPath !== undefined && !path.posix.isAbsolute(args.modelStoreHostPath)) {
        problems.add({
            key: "modelStoreHostPath",
            value: args.modelStoreHostPath,
            problem: "must be an absolute path on the node",
            fix: set("modelStoreHostPath", "/data/model-store"),
        });
    }
    const systemProblem =
        args.modelStoreHostPath !== undefined && path.posix.isAbsolute(args.modelStoreHostPath)
            ? systemPathProblem(args.modelStoreHostPath)
            : undefined;
    if (systemProblem) {
        problems.add({
            key: "modelStoreHostPath",
            value: args.modelStoreHostPath,
            problem: `${systemProblem}; the store needs a directory of its own`,
            fix: set("modelStoreHostPath", "/data/model-store"),
        });
    }
    if (args.modelStoreClaimName !== undefined && args.modelStoreHostPath !== undefined) {
        problems.add({
            key: "modelStoreHostPath",
            value: args.modelStoreHostPath,
            problem: "cannot be combined with modelStoreClaimName: an existing claim already has its volume",
            fix: "pulumi config rm modelStoreHostPath",
        });
    }
    return {
        existingClaimName: args.modelStoreClaimName,
        size,
        storageClass: args.modelStoreStorageClass,
        accessModes,
        hostPath: args.modelStoreHostPath,
        protect: args.modelStoreProtect ?? DEFAULTS.modelStoreProtect,
    };
}

/** Settings of the model-store volume: an existing claim, or the one the stack creates. */
import * as path from "node:path";
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { TorchServeStackArgs } from "./stackArgs";
import { isDnsSubdomain, isQuantity, quantityValue } from "./validators";

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

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

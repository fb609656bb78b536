/**
 * The model-store claim the stack creates (unless `modelStoreClaimName` names
 * an existing one), and the static hostPath volume it binds to when
 * `modelStoreHostPath` is set. The program adds namespace, labels and the
 * protection (both are protected and retained on delete: losing the store
 * loses every model).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config";
import { objectNames, volumeName } from "./names";

/**
 * The static hostPath volume's name and spec, or undefined when the claim is
 * provisioned dynamically. `recordedName`: the name the stack's volume has
 * (see {@link volumeName}).
 */
export function buildModelStoreVolume(
    settings: Settings,
    recordedName?: string,
): { readonly name: string; readonly spec: k8s.types.input.core.v1.PersistentVolumeSpec } | undefined {
    const store = settings.store;
    if (!store.hostPath) {
        return undefined;
    }
    const names = objectNames(settings);
    return {
        name: volumeName(settings, recordedName),
        spec: {
            capacity: { storage: store.size },
            accessModes: [...store.accessModes],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: "",
            hostPath: { path: store.hostPath, type: "DirectoryOrCreate" },
            claimRef: { namespace: settings.namespace, name: names.claim },
        },
    };
}

/** The created claim's name, annotations and spec, bound to `volumeName` when there is a static volume. */
export function buildModelStoreClaim(
    settings: Settings,
    volumeName: pulumi.Input<string> | undefined,
): {
    readonly name: string;
    readonly annotations: Record<string, string>;
    readonly spec: k8s.types.input.core.v1.PersistentVolumeClaimSpec;
} {
    const store = settings.store;
    return {
        name: objectNames(settings).claim,
        // A dynamically provisioned claim may wait for its first pod (WaitForFirstConsumer),
        // which comes after it: do not block on Bound then.
        annotations: volumeName ? {} : { "pulumi.com/skipAwait": "true" },
        spec: {
            accessModes: [...store.accessModes],
            resources: { requests: { storage: store.size } },
            ...(volumeName ? { storageClassName: "", volumeName } : {}),
            ...(!volumeName && store.storageClass !== undefined ? { storageClassName: store.storageClass } : {}),
        },
    };
}

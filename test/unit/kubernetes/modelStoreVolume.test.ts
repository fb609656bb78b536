import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSettings } from "../../../components/config";
import {
    buildModelStoreClaim,
    buildModelStoreVolume,
    legacyVolumeName,
    volumeName,
} from "../../../components/kubernetes";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();

describe("model-store claim and volume", () => {
    it("binds the claim to a static hostPath volume named after the namespace, retained", () => {
        const settings = resolveSettings(
            { ...fixture.args, modelStoreHostPath: "/data/store", modelStoreSize: "5Gi" },
            realFiles,
        );
        const volume = buildModelStoreVolume(settings)!;
        assert.equal(volume.name, "ml-dev.torchserve-model-store");
        // What the claim below asks for, or it never binds: size, access modes, no storage class.
        assert.deepEqual(volume.spec, {
            capacity: { storage: "5Gi" },
            accessModes: ["ReadWriteMany"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: "",
            hostPath: { path: "/data/store", type: "DirectoryOrCreate" },
            claimRef: { namespace: "ml-dev", name: "torchserve-model-store" },
        });
        const claim = buildModelStoreClaim(settings, volume.name) as any;
        assert.equal(claim.name, "torchserve-model-store");
        assert.deepEqual(claim.annotations, {}, "waits for Bound: the volume is there");
        assert.deepEqual(claim.spec, {
            accessModes: ["ReadWriteMany"],
            resources: { requests: { storage: "5Gi" } },
            storageClassName: "",
            volumeName: volume.name,
        });
    });

    it("names volumes so that two stacks never share one, and keeps the name a stack's volume already has", () => {
        // (a-b, c) and (a, b-c) both had a-b-c-model-store.
        const names = [
            { namespace: "a-b", appName: "c" },
            { namespace: "a", appName: "b-c" },
        ].map((s) => volumeName(s));
        assert.deepEqual(names, ["a-b.c-model-store", "a.b-c-model-store"]);
        assert.equal(
            legacyVolumeName({ namespace: "a-b", appName: "c" }),
            legacyVolumeName({ namespace: "a", appName: "b-c" }),
        );
        const stack = { namespace: "a-b", appName: "c" };
        assert.equal(
            volumeName(stack, "a-b-c-model-store"),
            "a-b-c-model-store",
            "a stack deployed before keeps its name",
        );
        assert.equal(volumeName(stack, "a-b.c-model-store"), "a-b.c-model-store");
        assert.equal(
            volumeName(stack, "other-volume"),
            "a-b.c-model-store",
            "a recorded name of another namespace or app (the stack was renamed): its own",
        );
    });

    it("provisions the claim dynamically without blocking on Bound when there is no hostPath", () => {
        const settings = resolveSettings({ ...fixture.args, modelStoreStorageClass: "fast" }, realFiles);
        assert.equal(buildModelStoreVolume(settings), undefined);
        const claim = buildModelStoreClaim(settings, undefined) as any;
        assert.deepEqual(claim.annotations, { "pulumi.com/skipAwait": "true" });
        assert.equal(claim.spec.storageClassName, "fast");
        assert.equal(claim.spec.volumeName, undefined);
        const byDefault = buildModelStoreClaim(resolveSettings(fixture.args, realFiles), undefined) as any;
        assert.ok(!("storageClassName" in byDefault.spec), "no class: the cluster's default class provisions it");
    });

    it("binds to the static volume even when a storage class is configured", () => {
        const settings = resolveSettings(
            { ...fixture.args, modelStoreHostPath: "/data/store", modelStoreStorageClass: "fast" },
            realFiles,
        );
        const claim = buildModelStoreClaim(settings, buildModelStoreVolume(settings)!.name) as any;
        assert.equal(claim.spec.storageClassName, "", "a class would send the claim to a provisioner instead");
    });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSettings } from "../../../components/config";
import { buildModelStoreClaim, buildModelStoreVolume } from "../../../components/kubernetes";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();

describe("model-store claim and volume", () => {
    it("binds the claim to a static hostPath volume named after the namespace, retained", () => {
        const settings = resolveSettings(
            { ...fixture.args, modelStoreHostPath: "/data/store", modelStoreSize: "5Gi" },
            realFiles,
        );
        const volume = buildModelStoreVolume(settings)!;
        assert.equal(volume.name, "ml-dev-torchserve-model-store");
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

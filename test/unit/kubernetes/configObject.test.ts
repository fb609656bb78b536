import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configObjectData, configObjectKind } from "../../../components/kubernetes";
import { resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();

describe("the object holding config.properties", () => {
    it("is a ConfigMap without secret config, a Secret with a secret extraProperties value", () => {
        assert.equal(configObjectKind(resolveSettings(fixture.args, realFiles)), "ConfigMap");
        const secret = resolveSettings({ ...fixture.args, extraProperties: { keystore_pass: "hunter2" } }, realFiles, [
            "extraProperties",
        ]);
        assert.equal(configObjectKind(secret), "Secret");
    });

    it("holds the rendered file under the name the pod's --ts-config reads", () => {
        assert.deepEqual(configObjectData("a=b\n"), { "config.properties": "a=b\n" });
    });
});

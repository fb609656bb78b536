import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";
import { describe, it } from "node:test";
import { buildConfigProperties, renderConfigProperties } from "../../../components/torchserve";
import { resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";
import { parseJavaProperties, parseNaivePython } from "../../support/javaProperties";

const fixture = makeModelDir();
const settings = resolveSettings(
    {
        ...fixture.args,
        extraProperties: {
            max_request_size: "104857600",
            allowed_urls: "file://.*",
            cors_allowed_origin: "https://a.example:8443",
        },
        // allowed_urls needs the opt-in (see the settings tests); here it shows a value with regex characters.
        allowUnsafeExtraProperties: true,
    },
    realFiles,
);
const input = { modelName: "demo", versions: ["v3", "v2", "v1"], server: settings.server };
const javaSource = path.join(__dirname, "..", "..", "..", "..", "test", "support", "java", "LoadProperties.java");

/** Reads a rendered file with the JVM's own Properties.load (what TorchServe's frontend uses). */
function loadWithJava(text: string): Record<string, string> {
    const file = path.join(tempDir("props-"), "config.properties");
    fs.writeFileSync(file, text);
    return JSON.parse(execFileSync("java", [javaSource, file], { encoding: "utf8" })) as Record<string, string>;
}

describe("config.properties rendering", () => {
    const text = renderConfigProperties(input);
    const expected = buildConfigProperties(input);

    it("binds inference and metrics on all interfaces, management on the pod's loopback unless exposed", () => {
        assert.equal(expected.inference_address, "http://0.0.0.0:8080");
        assert.equal(expected.management_address, "http://127.0.0.1:8081");
        assert.equal(expected.metrics_address, "http://0.0.0.0:8082");
        const exposed = buildConfigProperties({ ...input, exposeManagement: true });
        assert.equal(exposed.management_address, "http://0.0.0.0:8081");
        const local = buildConfigProperties({ ...input, bindAddress: "127.0.0.2" });
        assert.deepEqual(
            [local.inference_address, local.management_address],
            ["http://127.0.0.2:8080", "http://127.0.0.1:8081"],
        );
    });

    it("uses secure defaults: model API off, token auth off for probes, prometheus metrics", () => {
        assert.equal(expected.enable_model_api, "false");
        assert.equal(expected.disable_token_authorization, "true");
        assert.equal(expected.metrics_mode, "prometheus");
    });

    it("loads exactly the kept versions as one stable model, the deployed one as default", () => {
        assert.equal(expected.load_models, "demo.v3.mar,demo.v2.mar,demo.v1.mar");
        const models = JSON.parse(expected.models) as Record<
            string,
            Record<string, { defaultVersion: boolean; marName: string }>
        >;
        assert.deepEqual(Object.keys(models), ["demo"]);
        assert.deepEqual(Object.keys(models.demo).sort(), ["v1", "v2", "v3"]);
        assert.equal(models.demo.v3.defaultVersion, true);
        assert.equal(models.demo.v1.defaultVersion, false);
        assert.equal(models.demo.v2.marName, "demo.v2.mar");
    });

    it("is one sorted key=value per line after a comment header", () => {
        const lines = text.trimEnd().split("\n");
        assert.match(lines[0], /^# /);
        const keys = lines.slice(1).map((line) => line.slice(0, line.indexOf("=")));
        assert.deepEqual(keys, [...keys].sort());
        assert.ok(lines.slice(1).every((line) => /^[a-z_]+=\S/.test(line)));
    });

    it("reads back identically with a Properties.load-compatible parser and the naive Python parser", () => {
        assert.deepEqual(parseJavaProperties(text), expected);
        assert.deepEqual(parseNaivePython(text), expected);
    });

    it("reads back identically with the JVM's java.util.Properties", () => {
        assert.deepEqual(loadWithJava(text), expected);
    });

    it("is deterministic and changes when a setting changes", () => {
        assert.equal(renderConfigProperties(input), text);
        const other = resolveSettings(
            {
                ...fixture.args,
                jobQueueSize: 50,
                extraProperties: settings.server.extraProperties,
                allowUnsafeExtraProperties: true,
            },
            realFiles,
        );
        assert.notEqual(renderConfigProperties({ ...input, server: other.server }), text);
    });

    it("keeps user extras and lets managed keys win", () => {
        assert.equal(expected.max_request_size, "104857600");
        assert.equal(expected.cors_allowed_origin, "https://a.example:8443");
    });

    it("refuses to render without a version to load", () => {
        assert.throws(() => renderConfigProperties({ ...input, versions: [] }), /at least one/);
    });
});

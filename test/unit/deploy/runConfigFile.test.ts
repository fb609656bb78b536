import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { UsageError } from "../../../deploy/options";
import { runConfigFileText } from "../../../deploy/runConfigFile";

const committed = `encryptionsalt: v1:abc:def
config:
  # infrastructure, reviewed in pull requests
  torchserve-stack:replicas: "3"
  torchserve-stack:extraProperties:
    keystore_pass:
      secure: v1:secret-cipher
  kubernetes:namespace: ml-prod
`;

describe("the run's config file", () => {
    it("adds the run's model keys and keeps everything committed, secure values and salt included", () => {
        const text = runConfigFileText(committed, "torchserve-stack", {
            modelVersion: "run-7",
            serializedFile: "/runs/7/model.pt",
            extraFiles: ["/runs/7/a.json"],
        });
        const document = parse(text);
        assert.equal(document.encryptionsalt, "v1:abc:def");
        assert.deepEqual(document.config, {
            "torchserve-stack:replicas": "3",
            "torchserve-stack:extraProperties": { keystore_pass: { secure: "v1:secret-cipher" } },
            "kubernetes:namespace": "ml-prod",
            "torchserve-stack:modelVersion": "run-7",
            "torchserve-stack:serializedFile": "/runs/7/model.pt",
            "torchserve-stack:extraFiles": ["/runs/7/a.json"],
        });
        assert.match(text, /# infrastructure, reviewed in pull requests/, "comments survive");
    });

    it("overrides a committed model key for this run only, and works without a stack file", () => {
        const withVersion = `config:\n  torchserve-stack:modelVersion: v1\n`;
        assert.equal(
            parse(runConfigFileText(withVersion, "torchserve-stack", { modelVersion: "v2" })).config[
                "torchserve-stack:modelVersion"
            ],
            "v2",
        );
        assert.deepEqual(parse(runConfigFileText(undefined, "p", { modelVersion: "v2" })), {
            config: { "p:modelVersion": "v2" },
        });
        assert.deepEqual(parse(runConfigFileText("", "p", {})), { config: {} });
    });

    it("refuses a stack file that is not a YAML map, as bad input naming the file and the YAML error", () => {
        assert.throws(
            () => runConfigFileText("- a\n- b\n", "p", {}, "/app/Pulumi.prod.yaml"),
            (e: Error) => e instanceof UsageError && /^\/app\/Pulumi\.prod\.yaml is not a YAML map/.test(e.message),
        );
        assert.throws(
            () => runConfigFileText("config:\n  p:replicas: 2\n   p:batchSize: [\n", "p", {}, "/app/Pulumi.prod.yaml"),
            (e: Error) =>
                e instanceof UsageError &&
                /^\/app\/Pulumi\.prod\.yaml is not valid YAML: .+ at line 2, column \d+/.test(e.message) &&
                /Fix the file/.test(e.message),
        );
        assert.throws(
            () => runConfigFileText("config: [\n", "p", {}),
            (e: Error) => e.message.startsWith("the stack file is not valid YAML: "),
        );
    });
});

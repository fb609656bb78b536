import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { inClusterKubeconfig } from "../../../deploy/inCluster";
import { tempDir } from "../../support/tempDir";

function serviceAccountDir(): string {
    const dir = tempDir("sa-");
    fs.writeFileSync(path.join(dir, "token"), "token-value");
    fs.writeFileSync(path.join(dir, "ca.crt"), "CA");
    fs.writeFileSync(path.join(dir, "namespace"), "ml-pipelines\n");
    return dir;
}

describe("in-cluster credentials", () => {
    it("writes a kubeconfig for the pod's service account, reading the token from its file", () => {
        const dir = serviceAccountDir();
        const config = parse(
            inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, dir)!,
        );
        assert.equal(config.clusters[0].cluster.server, "https://10.96.0.1:443");
        assert.equal(config.clusters[0].cluster["certificate-authority"], path.join(dir, "ca.crt"));
        assert.equal(config.users[0].user.tokenFile, path.join(dir, "token"));
        assert.equal(config.contexts[0].context.namespace, "ml-pipelines");
        assert.equal(config["current-context"], "in-cluster");
    });

    it("brackets an IPv6 service host", () => {
        const config = parse(
            inClusterKubeconfig(
                { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" },
                serviceAccountDir(),
            )!,
        );
        assert.equal(config.clusters[0].cluster.server, "https://[fd00::1]:6443");
    });

    it("stays out of the way outside a pod, when KUBECONFIG is given, or without a token", () => {
        const dir = serviceAccountDir();
        assert.equal(inClusterKubeconfig({}, dir), undefined);
        assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBECONFIG: "/k" }, dir), undefined);
        assert.equal(inClusterKubeconfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1" }, tempDir("empty-sa-")), undefined);
    });
});

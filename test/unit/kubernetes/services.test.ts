import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSettings } from "../../../components/config";
import {
    buildInferenceServiceSpec,
    buildInternalServiceSpec,
    inferenceService,
    internalService,
    scrapeAnnotations,
} from "../../../components/kubernetes";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();
const settings = resolveSettings(fixture.args, realFiles);

describe("services", () => {
    it("exposes only inference on the main Service by default, metrics internally (management is on loopback)", () => {
        const main = buildInferenceServiceSpec(settings) as any;
        assert.equal(main.type, "ClusterIP");
        assert.deepEqual(
            main.ports.map((p: any) => [p.name, p.targetPort]),
            [["preds", "ts"]],
        );
        const internal = buildInternalServiceSpec(settings) as any;
        assert.equal(internal.type, "ClusterIP");
        assert.deepEqual(
            internal.ports.map((p: any) => [p.name, p.port, p.targetPort]),
            [["metrics", 8082, "ts-metrics"]],
        );
        const exposed = resolveSettings({ ...fixture.args, exposeManagement: true }, realFiles);
        assert.deepEqual(
            (buildInternalServiceSpec(exposed) as any).ports.map((p: any) => p.name),
            ["mdl", "metrics"],
            "management on the internal Service only when it is bound beyond loopback",
        );
    });

    it("exposes management and metrics on the main Service only when opted in", () => {
        const open = resolveSettings(
            {
                ...fixture.args,
                serviceType: "LoadBalancer",
                exposeManagement: true,
                exposeMetrics: true,
                tokenAuth: true,
                replicas: 1,
            },
            realFiles,
        );
        const main = buildInferenceServiceSpec(open) as any;
        assert.equal(main.type, "LoadBalancer");
        assert.deepEqual(
            main.ports.map((p: any) => p.name),
            ["preds", "mdl", "metrics"],
        );
    });

    it("exposes metrics alone on the main Service without the management port on either Service", () => {
        const metrics = resolveSettings({ ...fixture.args, exposeMetrics: true }, realFiles);
        assert.deepEqual(
            [buildInferenceServiceSpec(metrics), buildInternalServiceSpec(metrics)].map((spec: any) =>
                spec.ports.map((p: any) => p.name),
            ),
            [["preds", "metrics"], ["metrics"]],
        );
    });

    it("adds Prometheus scrape annotations only with metrics_mode=prometheus", () => {
        assert.deepEqual(scrapeAnnotations(settings), {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "8082",
            "prometheus.io/path": "/metrics",
        });
        assert.deepEqual(scrapeAnnotations(resolveSettings({ ...fixture.args, metricsMode: "log" }, realFiles)), {});
    });

    it("puts the scrape annotations on the Service that carries the metrics port for the scraper", () => {
        assert.deepEqual(
            [inferenceService(settings).annotations, internalService(settings).annotations],
            [{}, scrapeAnnotations(settings)],
        );
        const exposed = resolveSettings({ ...fixture.args, exposeMetrics: true }, realFiles);
        assert.deepEqual(
            [inferenceService(exposed).annotations, internalService(exposed).annotations],
            [scrapeAnnotations(exposed), {}],
        );
        assert.deepEqual(
            [inferenceService(settings).name, internalService(settings).name],
            ["torchserve", "torchserve-internal"],
        );
    });
});

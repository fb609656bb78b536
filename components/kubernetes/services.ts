/**
 * The Services: the inference Service (type from config) and an internal
 * ClusterIP Service for the metrics port (and the management port when
 * `exposeManagement` binds it beyond the pod's loopback): a Service carries
 * only what is reachable. Which of the two carries the Prometheus scrape
 * annotations is decided here too.
 */
import * as k8s from "@pulumi/kubernetes";
import { Settings } from "../config";
import { PORT_NAMES, objectNames, selectorLabels } from "./names";

type ServicePort = k8s.types.input.core.v1.ServicePort;

/** A Service's name, annotations and spec; the program adds the namespace and the labels. */
export interface ServiceParts {
    readonly name: string;
    readonly annotations: Record<string, string>;
    readonly spec: k8s.types.input.core.v1.ServiceSpec;
}

function ports(settings: Settings) {
    const p = settings.server.ports;
    return {
        inference: {
            name: "preds",
            port: p.inference,
            targetPort: PORT_NAMES.inference,
            protocol: "TCP",
        } as ServicePort,
        management: {
            name: "mdl",
            port: p.management,
            targetPort: PORT_NAMES.management,
            protocol: "TCP",
        } as ServicePort,
        metrics: { name: "metrics", port: p.metrics, targetPort: PORT_NAMES.metrics, protocol: "TCP" } as ServicePort,
    };
}

/** The inference Service; with `exposeMetrics` it carries the metrics port and so the scrape annotations. */
export function inferenceService(settings: Settings): ServiceParts {
    return {
        name: objectNames(settings).service,
        annotations: settings.service.exposeMetrics ? scrapeAnnotations(settings) : {},
        spec: buildInferenceServiceSpec(settings),
    };
}

/** The internal Service; it carries the scrape annotations unless the inference Service does. */
export function internalService(settings: Settings): ServiceParts {
    return {
        name: objectNames(settings).internalService,
        annotations: settings.service.exposeMetrics ? {} : scrapeAnnotations(settings),
        spec: buildInternalServiceSpec(settings),
    };
}

/** The inference Service spec; management/metrics ports only when opted in. */
export function buildInferenceServiceSpec(settings: Settings): k8s.types.input.core.v1.ServiceSpec {
    const all = ports(settings);
    const servicePorts = [all.inference];
    if (settings.service.exposeManagement) {
        servicePorts.push(all.management);
    }
    if (settings.service.exposeMetrics) {
        servicePorts.push(all.metrics);
    }
    return { type: settings.service.type, selector: selectorLabels(settings.appName), ports: servicePorts };
}

/** The cluster-internal Service spec: the metrics port, and the management port when exposed. */
export function buildInternalServiceSpec(settings: Settings): k8s.types.input.core.v1.ServiceSpec {
    const all = ports(settings);
    const servicePorts = settings.service.exposeManagement ? [all.management, all.metrics] : [all.metrics];
    return { type: "ClusterIP", selector: selectorLabels(settings.appName), ports: servicePorts };
}

/** Prometheus scrape annotations for the Service that carries the metrics port. */
export function scrapeAnnotations(settings: Settings): Record<string, string> {
    if (settings.server.metricsMode !== "prometheus") {
        return {};
    }
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(settings.server.ports.metrics),
        "prometheus.io/path": "/metrics",
    };
}

/** Settings of the inference Service: its type and which extra ports it carries. */
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { SERVICE_TYPES, ServiceType, TorchServeStackArgs } from "./stackArgs";

export interface ServiceSettings {
    readonly type: ServiceType;
    readonly exposeManagement: boolean;
    readonly exposeMetrics: boolean;
}

export function resolveService(args: TorchServeStackArgs, problems: ProblemList): ServiceSettings {
    const type = args.serviceType ?? DEFAULTS.serviceType;
    if (!SERVICE_TYPES.includes(type)) {
        problems.add({
            key: "serviceType",
            value: type,
            problem: `must be one of ${SERVICE_TYPES.join(", ")}`,
            fix: set("serviceType", DEFAULTS.serviceType),
        });
    }
    return {
        type,
        exposeManagement: args.exposeManagement ?? DEFAULTS.exposeManagement,
        exposeMetrics: args.exposeMetrics ?? DEFAULTS.exposeMetrics,
    };
}

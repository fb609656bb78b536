/**
 * Which stack config keys may be set as secrets (`pulumi config set --secret`):
 * only `extraProperties`, whose values reach nothing but config.properties
 * (which then goes into a Secret). Any other key set as one is refused. How a
 * problem about a secret key is shown: errors.ts ({@link hideSecretValue}).
 */
import { ConfigProblem } from "./errors";

/** The one key whose value may be a secret: only it reaches nothing but config.properties. */
export const SECRET_CAPABLE_KEYS: readonly string[] = ["extraProperties"];

/** The refusal of a key set as a secret whose value would end up in plain text (it shows no value). */
export function plainTextSecretProblem(key: string): ConfigProblem {
    return {
        key,
        secret: true,
        problem:
            "is set as a secret, but its value ends up in plain text (object names, labels, the pod spec, " +
            "command lines or stack outputs); only extraProperties entries can stay secret",
        fix: `set it without --secret: pulumi config set ${key} VALUE`,
    };
}

// ESLint (flat config): the recommended JavaScript and typed TypeScript rules,
// the Pulumi plugin's rules (an Output in a plain template literal renders as
// a warning text, not its value), and no formatting rules: Prettier formats
// (.prettierrc.json), eslint-config-prettier turns the conflicting ones off.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import prettier from "eslint-config-prettier";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
    { ignores: ["bin/", "node_modules/", ".dev/", "reports/", ".stryker-tmp/"] },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
    prettier,
    {
        // Prettier does not break strings, regular expressions or comments; this keeps them to the width too.
        rules: { "max-len": ["error", { code: 120, ignoreUrls: true }] },
    },
    {
        // Tests read JSON and Pulumi input types as plain objects; their titles, expected messages and
        // patterns read better unbroken.
        files: ["test/**/*.ts", "bench/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "max-len": [
                "error",
                {
                    code: 120,
                    ignoreUrls: true,
                    ignoreStrings: true,
                    ignoreTemplateLiterals: true,
                    ignoreRegExpLiterals: true,
                },
            ],
        },
    },
);

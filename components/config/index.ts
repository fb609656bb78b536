/**
 * Stack config (what `pulumi config set` sets): the component's args, the
 * parsing of the raw config map, validated settings by area (model, store,
 * server, service), validators and errors. Imports nothing from the other groups.
 */
export * from "./availabilitySettings";
export * from "./cidr";
export * from "./defaults";
export * from "./errors";
export * from "./extraProperties";
export * from "./modelSettings";
export * from "./secrets";
export * from "./serverSettings";
export * from "./serviceSettings";
export * from "./settings";
export * from "./shellQuote";
export * from "./stackArgs";
export * from "./stackConfig";
export * from "./storeSettings";
export * from "./validators";
